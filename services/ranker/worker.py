"""The ranker worker: round scores, rankings and annual assessments (on its own queue)."""

from typing import Any

from arq.worker import Worker

from services.ranker.tasks import ping
from shared.models import RankerInbox
from shared.queues import Target
from shared.settings import RankerSettings, load_settings
from shared.worker import JobSpec, build_worker


def create_worker(settings: RankerSettings | None = None, **overrides: Any) -> Worker:
    """The ranker's arq worker; pass settings to skip reading the environment."""
    settings = settings or load_settings(RankerSettings)
    functions = [JobSpec(ping, timeout=settings.job_timeout_seconds, max_tries=settings.max_tries)]
    return build_worker(settings, target=Target.RANKER, inbox=RankerInbox, functions=functions, **overrides)
