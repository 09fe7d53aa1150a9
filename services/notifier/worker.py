"""The notifier worker: rules, notices, escalation and delivery (on its own queue)."""

from typing import Any

from arq.worker import Worker

from services.notifier.tasks import ping
from shared.models import NotifierInbox
from shared.queues import Target
from shared.settings import NotifierSettings, load_settings
from shared.worker import build_worker

FUNCTIONS = [ping]


def create_worker(settings: NotifierSettings | None = None, **overrides: Any) -> Worker:
    """The notifier's arq worker; pass settings to skip reading the environment."""
    settings = settings or load_settings(NotifierSettings)
    return build_worker(
        settings, target=Target.NOTIFIER, inbox=NotifierInbox, functions=FUNCTIONS, **overrides
    )
