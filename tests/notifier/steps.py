"""Steps the notifier's tests share: sweeps as the cron runs them, the notifier's jobs on what
the api queued."""

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.notifier.sweep import sweep
from services.notifier.tasks import event as event_job
from services.notifier.tasks import finding_rectified, issue_notice, notice_action, report_filed
from shared.clock import OFFICE_TZ
from shared.models import Notice, OutboxMessage
from shared.queues import EventPayload
from tests.world import World, at


def morning(day: date) -> datetime:
    return datetime.combine(day, time(9), OFFICE_TZ)


async def days(sessions: async_sessionmaker[AsyncSession], first: date, last: date) -> None:
    day = first
    while day <= last:
        await sweep(sessions, morning(day))
        day += timedelta(days=1)


async def apply_actions(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    job: str = "notice_action",
    newest_first: bool = False,
) -> list[str]:
    """Run the notifier's job for each message of `job` the api queued (as the worker would; in
    reverse, as two workers working off a backlog may)."""
    task = {
        "notice_action": notice_action, "issue_notice": issue_notice, "report_filed": report_filed,
        "finding_rectified": finding_rectified,
    }[job]  # fmt: skip
    queued = await session.scalars(
        select(OutboxMessage).where(col(OutboxMessage.job) == job).order_by(col(OutboxMessage.created_at))
    )
    messages = list(queued.all())
    if newest_first:  # by the action's own instant: a test's requests share one created_at
        messages.sort(key=lambda m: str(m.payload["at"]), reverse=True)
    return [await task({"sessions": sessions}, str(m.id), m.payload) for m in messages]


async def urged(session: AsyncSession, sessions: async_sessionmaker[AsyncSession], world: World) -> Notice:
    """Project A's September form, urged by the sweep of 26 September."""
    await sweep(sessions, morning(date(2018, 9, 26)))
    urging = await session.scalar(
        select(Notice).where(
            col(Notice.subject_id) == world.projects["A"].id,
            col(Notice.period) == "2018-09",
            col(Notice.kind) == "urging",
        )
    )
    assert urging is not None
    return urging


async def rungs(session: AsyncSession, *where: Any) -> list[tuple[str, date, date, str]]:
    """(kind, issued on, due, state) of the notices matching `where`, up the ladder."""
    rows = await session.scalars(
        select(Notice).where(*where).order_by(col(Notice.level)).execution_options(populate_existing=True)
    )
    return [(n.kind, n.issued_on, n.due_date, n.state) for n in rows]


async def publish(sessions: async_sessionmaker[AsyncSession], event: str, data: Any, when: str) -> str:
    """The ranker's event, as the notifier's event job receives it from the outbox."""
    happened = EventPayload(
        event=event,
        subject_type="round",
        subject_id=uuid.uuid4(),
        occurred_at=at(when).now(),
        data=data.model_dump(mode="json"),
    )
    return await event_job({"sessions": sessions}, str(uuid.uuid4()), happened.model_dump(mode="json"))
