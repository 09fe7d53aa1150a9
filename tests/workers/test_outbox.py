"""The outbox-to-worker path: relay, crash between enqueue and mark, Redis loss, concurrency."""

import asyncio
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import NotifierInbox, NotifierPingReceipt, OutboxMessage, Ping, RankerPingReceipt
from shared.outbox import add_message, relay
from shared.queues import Job, PingPayload, Target, queue_name
from shared.settings import ApiSettings, NotifierSettings
from shared.worker import reconcile


async def send_pings(
    sessions: async_sessionmaker[AsyncSession], n: int, targets: tuple[Target, ...] = tuple(Target)
) -> list[Ping]:
    async with sessions() as s, s.begin():
        pings = [Ping(targets=[t.value for t in targets]) for _ in range(n)]
        s.add_all(pings)
        await s.flush()
        for p in pings:
            for t in targets:
                await add_message(
                    s, producer="api", target=t, job=Job.PING, payload=PingPayload(ping_id=p.id)
                )
    return pings


def notifier_ctx(
    settings: NotifierSettings, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> dict[str, Any]:
    """What the notifier worker's start-up puts in a job's ctx."""
    return {
        "settings": settings,
        "target": Target.NOTIFIER,
        "inbox": NotifierInbox,
        "sessions": sessions,
        "redis": redis,
    }


async def receipts(sessions: async_sessionmaker[AsyncSession], model: Any) -> list[Any]:
    async with sessions() as s:
        return list(await s.scalars(select(model)))


async def test_relay_sends_each_row_to_its_workers_queue_once(
    committed: async_sessionmaker[AsyncSession], arq_redis: ArqRedis, api_settings: ApiSettings
) -> None:
    await send_pings(committed, 3)
    assert await relay(committed, arq_redis, api_settings) == 6
    assert await relay(committed, arq_redis, api_settings) == 0
    for target in Target:
        queued = set(await arq_redis.zrange(queue_name(api_settings, target), 0, -1))
        async with committed() as s:
            ids = {
                str(i).encode()
                for i in await s.scalars(select(OutboxMessage.id).where(OutboxMessage.target == target))
            }
        assert queued == ids  # the row id is the job id, on the target's own queue
    async with committed() as s:
        assert set(await s.scalars(select(OutboxMessage.attempts))) == {1}


async def test_a_crash_before_marking_sent_duplicates_nothing(
    committed: async_sessionmaker[AsyncSession],
    arq_redis: ArqRedis,
    api_settings: ApiSettings,
    run_workers: Any,
) -> None:
    [ping] = await send_pings(committed, 1, (Target.NOTIFIER,))
    await relay(committed, arq_redis, api_settings)
    async with committed() as s, s.begin():  # as if the relay died before its UPDATE committed
        await s.execute(update(OutboxMessage).values(sent_at=None))
    await relay(committed, arq_redis, api_settings)
    assert await arq_redis.zcard(queue_name(api_settings, Target.NOTIFIER)) == 1
    await run_workers(only="notifier")
    [receipt] = await receipts(committed, NotifierPingReceipt)
    assert receipt.ping_id == ping.id


async def test_losing_redis_costs_delay_not_data(
    committed: async_sessionmaker[AsyncSession],
    arq_redis: ArqRedis,
    api_settings: ApiSettings,
    notifier_settings: NotifierSettings,
    run_workers: Any,
) -> None:
    pings = await send_pings(committed, 250)  # more than a batch of 200 for each worker
    await relay(committed, arq_redis, api_settings)
    # Redis restarts empty: queues and job keys are gone, the outbox says "sent".
    for target in Target:
        for job_id in await arq_redis.zrange(queue_name(api_settings, target), 0, -1):
            await arq_redis.delete(b"arq:job:" + job_id)
        await arq_redis.delete(queue_name(api_settings, target))
    async with committed() as s, s.begin():  # time passes beyond the redelivery window
        await s.execute(update(OutboxMessage).values(sent_at=func.now() - func.make_interval(0, 0, 0, 0, 1)))
    ctx = notifier_ctx(notifier_settings, committed, arq_redis)
    assert await reconcile(ctx) == {"relayed": 0, "redelivered": 250}  # all in one pass
    assert await reconcile(ctx) == {"relayed": 0, "redelivered": 0}  # still queued: not sent twice
    await run_workers()  # the ranker's reconciler runs as it starts, and recovers its own
    for model in (NotifierPingReceipt, RankerPingReceipt):
        got = await receipts(committed, model)
        assert sorted(r.ping_id for r in got) == sorted(p.id for p in pings)


async def test_reconciler_relays_rows_the_api_never_sent(
    committed: async_sessionmaker[AsyncSession],
    arq_redis: ArqRedis,
    notifier_settings: NotifierSettings,
    run_workers: Any,
) -> None:
    await send_pings(committed, 2, (Target.NOTIFIER, Target.RANKER))
    async with committed() as s, s.begin():  # the api died right after committing
        await s.execute(
            update(OutboxMessage).values(created_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 1))
        )
    ctx = notifier_ctx(notifier_settings, committed, arq_redis)
    assert (await reconcile(ctx))["relayed"] == 2  # only its own queue's rows
    await run_workers(only="notifier")
    assert len(await receipts(committed, NotifierPingReceipt)) == 2


async def test_concurrent_relays_send_each_row_once(
    committed: async_sessionmaker[AsyncSession], arq_redis: ArqRedis, api_settings: ApiSettings
) -> None:
    await send_pings(committed, 150)
    counts = await asyncio.gather(*(relay(committed, arq_redis, api_settings, batch=25) for _ in range(4)))
    assert sum(counts) == 300
    async with committed() as s:
        assert set(await s.scalars(select(OutboxMessage.attempts))) == {1}


async def test_a_job_whose_data_redis_lost_while_queued_is_redelivered_not_left_expired(
    committed: async_sessionmaker[AsyncSession],
    arq_redis: ArqRedis,
    api_settings: ApiSettings,
    notifier_settings: NotifierSettings,
    run_workers: Any,
) -> None:
    """Redis flushed between the queue and the job's data (a FLUSHALL while a worker takes it):
    arq runs nothing and keeps a "job expired" result for an hour, which made it refuse the job
    id — the message was redelivered only an hour later. The reconciler now drops that result."""
    [ping] = await send_pings(committed, 1, (Target.NOTIFIER,))
    await relay(committed, arq_redis, api_settings)
    [job_id] = await arq_redis.zrange(queue_name(api_settings, Target.NOTIFIER), 0, -1)
    await arq_redis.delete(b"arq:job:" + job_id)  # the queue entry stays, its data is gone
    await run_workers(only="notifier")
    assert await arq_redis.exists(b"arq:result:" + job_id)  # arq's "job expired"
    assert await receipts(committed, NotifierPingReceipt) == []
    async with committed() as s, s.begin():  # time passes beyond the redelivery window
        await s.execute(update(OutboxMessage).values(sent_at=func.now() - func.make_interval(0, 0, 0, 0, 1)))
    assert await reconcile(notifier_ctx(notifier_settings, committed, arq_redis)) == {
        "relayed": 0,
        "redelivered": 1,
    }
    await run_workers(only="notifier")
    [receipt] = await receipts(committed, NotifierPingReceipt)
    assert receipt.ping_id == ping.id
