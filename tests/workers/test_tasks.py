"""Job handlers: idempotent on replay, unknown jobs fail for good, lost connections retry."""

import uuid
from typing import Any

import pytest
from arq import Retry
from arq.connections import ArqRedis
from arq.jobs import Job as ArqJob
from arq.jobs import JobStatus
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notifier.tasks import ping as notifier_ping
from services.ranker.tasks import ping as ranker_ping
from shared.models import NotifierPingReceipt, RankerPingReceipt
from shared.queues import Target, deserialize, queue_name
from shared.settings import NotifierSettings
from shared.worker import backoff, job


@pytest.mark.parametrize(
    ("task", "receipt"), [(notifier_ping, NotifierPingReceipt), (ranker_ping, RankerPingReceipt)]
)
async def test_a_replayed_message_changes_nothing(
    committed: async_sessionmaker[AsyncSession], task: Any, receipt: Any
) -> None:
    message_id, ping_id = str(uuid.uuid4()), str(uuid.uuid4())
    ctx = {"sessions": committed, "job_try": 1}
    assert await task(ctx, message_id, {"ping_id": ping_id}) == "applied"
    assert await task({**ctx, "job_try": 2}, message_id, {"ping_id": ping_id}) == "duplicate"
    async with committed() as s:
        rows = list(await s.scalars(select(receipt).where(receipt.ping_id == uuid.UUID(ping_id))))
    assert [r.job_try for r in rows] == [1]


async def test_a_job_the_worker_does_not_know_fails_for_good(
    arq_redis: ArqRedis, notifier_settings: NotifierSettings, run_workers: Any
) -> None:
    queue = queue_name(notifier_settings, Target.NOTIFIER)
    enqueued = await arq_redis.enqueue_job("rank_round", "r-1", _queue_name=queue, _job_id=str(uuid.uuid4()))
    assert enqueued is not None
    await run_workers(only="notifier")
    result = await ArqJob(
        enqueued.job_id, arq_redis, _queue_name=queue, _deserializer=deserialize
    ).result_info()
    assert result is not None and result.success is False
    assert "not found" in str(result.result)
    assert await enqueued.status() == JobStatus.complete  # not waiting for another try


async def test_a_lost_connection_is_retried_with_backoff() -> None:
    async def flaky(ctx: dict[str, Any]) -> None:
        raise ConnectionRefusedError("database restarting")

    with pytest.raises(Retry) as retry:
        await job(Target.NOTIFIER, flaky)({"job_try": 3})
    assert retry.value.defer_score == backoff(3) * 1000 == 8000


async def test_a_bug_is_not_retried() -> None:
    async def buggy(ctx: dict[str, Any]) -> None:
        raise KeyError("ping_id")

    with pytest.raises(KeyError):
        await job(Target.RANKER, buggy)({"job_try": 1})
