"""Notifier jobs. Thin: take ids from the payload, call a service function."""

from datetime import timedelta
from typing import Any

from services.notifier import delivery, notices, results, webhooks
from services.notifier.sweep import sweep
from shared import clock
from shared.inbox import claim
from shared.models import NotifierInbox, NotifierPingReceipt
from shared.ping import ping_task
from shared.queues import (
    EventPayload,
    FindingRectifiedPayload,
    IssueNoticePayload,
    Job,
    NoticeActionPayload,
    ReportFiledPayload,
)
from shared.settings import NotifierSettings

ping = ping_task(inbox=NotifierInbox, receipt=NotifierPingReceipt)


def _delivery_options(ctx: dict[str, Any]) -> dict[str, Any]:
    settings: NotifierSettings = ctx["settings"]
    return {
        "max_attempts": settings.webhook_max_attempts,
        "lease": timedelta(seconds=settings.webhook_timeout_seconds + 30),
    }


async def event(ctx: dict[str, Any], message_id: str, payload: dict[str, Any]) -> str:
    """Fan an event out to its webhook subscribers (once), then try to deliver at once; a
    published ranking or assessment also becomes notices."""
    happened = EventPayload.model_validate(payload)
    async with ctx["sessions"]() as session, session.begin():
        if not await claim(session, NotifierInbox, message_id=message_id, job=Job.EVENT):
            return "duplicate"
        await results.consume(session, happened)  # praise, criticism, accountability
        ids = await webhooks.fan_out(session, message_id=message_id, event=happened)
    if ids:
        await webhooks.deliver_due(
            ctx["sessions"], ctx["http"], ctx["webhook_box"], ids=ids, **_delivery_options(ctx)
        )
    return f"{len(ids)} deliveries"


async def deliver_webhooks(ctx: dict[str, Any]) -> dict[str, int]:
    """Retry the deliveries whose next attempt is due (a cron)."""
    return await webhooks.deliver_due(
        ctx["sessions"], ctx["http"], ctx["webhook_box"], **_delivery_options(ctx)
    )


async def sweep_notices(ctx: dict[str, Any]) -> dict[str, int]:
    """Issue the notices due now and close the chains whose matter is done, then send the day's
    digests (a cron)."""
    now = clock.now()
    done = await sweep(ctx["sessions"], now)
    settings = ctx["settings"]
    return done | await delivery.deliver(
        ctx["sessions"], ctx["channels"], ctx["phones"], now,
        max_attempts=settings.delivery_max_attempts, base_url=settings.base_url,
    )  # fmt: skip


async def notice_action(ctx: dict[str, Any], message_id: str, payload: dict[str, Any]) -> str:
    """Apply a person's action on a notice (once): feedback marks it answered; the office's
    accepting the feedback ends the chain."""
    done = NoticeActionPayload.model_validate(payload)
    async with ctx["sessions"]() as session, session.begin():
        if not await claim(session, NotifierInbox, message_id=message_id, job=Job.NOTICE_ACTION):
            return "duplicate"
        return await notices.apply(session, done, clock.now())


async def issue_notice(ctx: dict[str, Any], message_id: str, payload: dict[str, Any]) -> str:
    """Issue the office's own notice (once)."""
    order = IssueNoticePayload.model_validate(payload)
    async with ctx["sessions"]() as session, session.begin():
        if not await claim(session, NotifierInbox, message_id=message_id, job=Job.ISSUE_NOTICE):
            return "duplicate"
        return await notices.issue_manual(session, order)


async def finding_rectified(ctx: dict[str, Any], message_id: str, payload: dict[str, Any]) -> str:
    """End the chain of a visit's finding the office confirmed rectified (once)."""
    done = FindingRectifiedPayload.model_validate(payload)
    async with ctx["sessions"]() as session, session.begin():
        if not await claim(session, NotifierInbox, message_id=message_id, job=Job.FINDING_RECTIFIED):
            return "duplicate"
        return await notices.finding_rectified(session, done)


async def report_filed(ctx: dict[str, Any], message_id: str, payload: dict[str, Any]) -> str:
    """Close the chain chasing a period just filed (once); the sweep would, later."""
    done = ReportFiledPayload.model_validate(payload)
    async with ctx["sessions"]() as session, session.begin():
        if not await claim(session, NotifierInbox, message_id=message_id, job=Job.REPORT_FILED):
            return "duplicate"
        return await notices.report_filed(session, done)
