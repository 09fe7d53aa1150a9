"""Worker tests run on committed data (real workers see only what is committed)."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.notifier.worker import create_worker as create_notifier
from services.ranker.worker import create_worker as create_ranker
from shared.db import session_factory
from shared.models import (
    NotifierInbox,
    NotifierPingReceipt,
    OutboxMessage,
    Ping,
    RankerInbox,
    RankerPingReceipt,
)
from shared.queues import Target, deserialize, queue_name, serialize
from shared.settings import NotifierSettings, RankerSettings


@pytest.fixture
async def committed(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions that really commit, on tables emptied before and after the test."""
    sessions = session_factory(engine)
    await empty_tables(sessions)
    yield sessions
    await empty_tables(sessions)


async def empty_tables(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as s, s.begin():
        for model in (
            NotifierPingReceipt,
            RankerPingReceipt,
            NotifierInbox,
            RankerInbox,
            OutboxMessage,
            Ping,
        ):
            await s.execute(delete(model))


@pytest.fixture
async def arq_redis(api_settings: Any, redis: Any) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(
        RedisSettings.from_dsn(str(api_settings.redis_url)),
        job_serializer=serialize,
        job_deserializer=deserialize,
    )
    await empty_queues(pool, api_settings)
    yield pool
    await empty_queues(pool, api_settings)
    await pool.aclose()


async def empty_queues(pool: ArqRedis, settings: Any) -> None:
    """Drop this session's queued jobs, so each test starts with empty queues."""
    for queue in [queue_name(settings, t, bulk=lane) for t in Target for lane in (False, True)]:
        for job_id in await pool.zrange(queue, 0, -1):
            await pool.delete(b"arq:job:" + job_id, b"arq:result:" + job_id, b"arq:retry:" + job_id)
        await pool.delete(queue)


@pytest.fixture
def run_workers(notifier_settings: NotifierSettings, ranker_settings: RankerSettings) -> Callable[..., Any]:
    """Run both real workers in burst mode until their queues are empty."""

    async def run(*, only: str | None = None) -> dict[str, int]:
        done = {}
        for name, make, settings in (
            ("notifier", create_notifier, notifier_settings),
            ("ranker", create_ranker, ranker_settings),
        ):
            if only and name != only:
                continue
            worker = make(settings, burst=True, handle_signals=False, poll_delay=0.01)  # type: ignore[arg-type]
            try:
                await worker.main()
            finally:
                await worker.close()
            done[name] = worker.jobs_complete
        return done

    return run
