"""The notifier worker: rules, notices, escalation and delivery (on its own queue)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from arq.worker import Worker

from services.notifier.tasks import deliver_webhooks, event, ping
from shared.crypto import SecretBox
from shared.models import NotifierInbox
from shared.queues import Target
from shared.settings import NotifierSettings, load_settings
from shared.worker import build_worker

FUNCTIONS = [ping, event]


@asynccontextmanager
async def resources(ctx: dict[str, Any]) -> AsyncIterator[None]:
    """The HTTP client for webhooks and the box that opens their secrets."""
    settings: NotifierSettings = ctx["settings"]
    ctx["webhook_box"] = SecretBox(settings.secret_key.get_secret_value(), "webhook")
    async with httpx.AsyncClient(timeout=settings.webhook_timeout_seconds, follow_redirects=False) as http:
        ctx["http"] = http
        yield


def create_worker(settings: NotifierSettings | None = None, **overrides: Any) -> Worker:
    """The notifier's arq worker; pass settings to skip reading the environment."""
    settings = settings or load_settings(NotifierSettings)
    return build_worker(
        settings,
        target=Target.NOTIFIER,
        inbox=NotifierInbox,
        functions=FUNCTIONS,
        periodic=[(deliver_webhooks, settings.webhook_interval_seconds)],
        resources=resources,
        **overrides,
    )
