"""The ranker worker: round scores, rankings and annual assessments (on its own queue)."""

from typing import Any

from arq.worker import Worker

from services.ranker.tasks import ping, publish_assessment, rank_round, rank_unranked
from shared.models import RankerInbox
from shared.queues import Target
from shared.settings import RankerSettings, load_settings
from shared.worker import JobSpec, Periodic, build_worker


def create_worker(settings: RankerSettings | None = None, **overrides: Any) -> Worker:
    """The ranker's arq worker; pass settings to skip reading the environment."""
    settings = settings or load_settings(RankerSettings)
    functions = [
        JobSpec(ping, timeout=settings.job_timeout_seconds, max_tries=settings.max_tries),
        JobSpec(rank_round, timeout=settings.rank_timeout_seconds, max_tries=settings.max_tries),
        JobSpec(publish_assessment, timeout=settings.job_timeout_seconds, max_tries=settings.max_tries),
    ]
    periodic = [
        Periodic(rank_unranked, settings.rank_interval_seconds, timeout=settings.rank_timeout_seconds)
    ]
    return build_worker(
        settings, target=Target.RANKER, inbox=RankerInbox, functions=functions, periodic=periodic, **overrides
    )
