"""The notifier worker: rules, notices, escalation and delivery (on its own queues: urgent, and
the bulk lane for announcements, sweeps and retries)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from arq.worker import Worker

from services.notifier.channels import load_channels
from services.notifier.tasks import (
    deliver_webhooks,
    event,
    finding_rectified,
    issue_notice,
    notice_action,
    ping,
    report_filed,
    sweep_notices,
)
from shared.crypto import SecretBox
from shared.models import NotifierInbox
from shared.queues import Target
from shared.settings import NotifierSettings, load_settings
from shared.worker import BulkLane, JobSpec, Periodic, build_worker


def functions(settings: NotifierSettings) -> list[JobSpec]:
    """The urgent jobs: a ping is one insert (plus the delay its sender asked for); a filing closes
    its chain, an office's notice is issued, an action on a notice applied."""
    return [
        JobSpec(ping, timeout=settings.job_timeout_seconds, max_tries=settings.max_tries),
        JobSpec(notice_action, timeout=settings.job_timeout_seconds, max_tries=settings.max_tries),
        JobSpec(issue_notice, timeout=settings.job_timeout_seconds, max_tries=settings.max_tries),
        JobSpec(report_filed, timeout=settings.job_timeout_seconds, max_tries=settings.max_tries),
        JobSpec(finding_rectified, timeout=settings.job_timeout_seconds, max_tries=settings.max_tries),
    ]


def bulk(settings: NotifierSettings) -> BulkLane:
    """The bulk lane: an event fans out to its webhook subscribers and tries each new delivery
    once at once; the webhook retry pass, every DUBAN_WEBHOOK_INTERVAL_SECONDS, and the notice
    sweep with the day's digests, every DUBAN_SWEEP_INTERVAL_SECONDS (a pass cut short by its
    timeout leaves the rest to the next)."""
    return BulkLane(
        functions=[JobSpec(event, timeout=settings.job_timeout_seconds, max_tries=settings.max_tries)],
        periodic=[
            Periodic(
                deliver_webhooks, settings.webhook_interval_seconds, timeout=settings.job_timeout_seconds
            ),
            Periodic(sweep_notices, settings.sweep_interval_seconds, timeout=settings.job_timeout_seconds),
        ],
    )


@asynccontextmanager
async def resources(ctx: dict[str, Any]) -> AsyncIterator[None]:
    """The HTTP client for webhooks, the box that opens their secrets, the channel the daily
    digests go through and the box that opens liaisons' phones."""
    settings: NotifierSettings = ctx["settings"]
    ctx["webhook_box"] = SecretBox(settings.secret_key.get_secret_value(), "webhook")
    ctx["phones"] = SecretBox(settings.secret_key.get_secret_value(), "phone")
    ctx["channels"] = load_channels(settings)
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
        functions=functions(settings),
        bulk=bulk(settings),
        resources=resources,
        **overrides,
    )
