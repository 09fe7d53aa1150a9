"""Urgent before bulk: the notifier works a sweep's announcements (webhook fan-out) and its long
passes on a lane of its own, so a ping, a filing's chain closure or an office's notice never
waits behind them, and a crashed notifier's quick jobs are handed on after their own timeout."""

import asyncio
import uuid

from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifier.worker import bulk
from services.notifier.worker import create_worker as create_notifier
from shared import clock
from shared.models import NotifierPingReceipt, Ping
from shared.outbox import add_message, publish_events, relay
from shared.queues import EventPayload, Job, PingPayload, Target, queue_name
from shared.settings import ApiSettings, NotifierSettings
from tests.helpers import eventually

BACKLOG = 1000


async def test_a_ping_goes_ahead_of_a_backlog_of_announcements_which_the_lane_works_off(
    committed: async_sessionmaker[AsyncSession],
    arq_redis: ArqRedis,
    api_settings: ApiSettings,
    notifier_settings: NotifierSettings,
) -> None:
    announced = [
        EventPayload(
            event="notice.issued",
            subject_type="notice",
            subject_id=uuid.uuid4(),
            occurred_at=clock.now(),
            data={"n": n},
        )
        for n in range(BACKLOG)
    ]
    async with committed() as s, s.begin():
        await publish_events(s, announced, producer="notifier")  # a sweep's, written first
        ping = Ping(targets=[Target.NOTIFIER.value])
        s.add(ping)
        await s.flush()
        await add_message(
            s, producer="api", target=Target.NOTIFIER, job=Job.PING, payload=PingPayload(ping_id=ping.id)
        )
    await relay(committed, arq_redis, api_settings, batch=2000)
    lane = queue_name(api_settings, Target.NOTIFIER, bulk=True)
    assert await arq_redis.zcard(lane) == BACKLOG
    assert await arq_redis.zcard(queue_name(api_settings, Target.NOTIFIER)) == 1

    worker = create_notifier(notifier_settings, handle_signals=False, poll_delay=0.01)
    running = asyncio.create_task(worker.main())

    async def received() -> bool:
        async with committed() as s:
            return (
                await s.scalar(select(NotifierPingReceipt).where(NotifierPingReceipt.ping_id == ping.id))
                is not None
            )

    async def worked_off() -> bool:
        return await arq_redis.zcard(lane) == 0

    try:
        await eventually(received, within=30, every=0.02)
        waiting = await arq_redis.zcard(lane)
        await eventually(worked_off, within=120, every=0.5)
    finally:
        running.cancel()
        await worker.close()
    assert waiting > BACKLOG / 2  # the ping did not wait for the announcements queued before it


def test_the_quick_jobs_are_handed_on_after_their_own_timeout(notifier_settings: NotifierSettings) -> None:
    """arq hands a crashed worker's job on after the longest timeout of that worker: the sweep's
    lives on the lane, so the urgent jobs keep theirs."""
    settings = notifier_settings.model_copy(update={"job_timeout_seconds": 5})
    urgent = create_notifier(settings)
    lane = bulk(settings)
    assert set(urgent.functions) == {
        "ping",
        "notice_action",
        "issue_notice",
        "report_filed",
        "finding_rectified",
        "reconcile",
    }
    assert {spec.fn.__name__ for spec in lane.functions} | {p.fn.__name__ for p in lane.periodic} == {
        "event", "deliver_webhooks", "sweep_notices"
    }  # fmt: skip
    assert urgent.in_progress_timeout_s == 15 and urgent.queue_name.endswith(":queue:notifier")
