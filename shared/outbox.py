"""Write outbox rows with a change; relay them to Redis; redeliver what Redis lost.

A crash between enqueue and marking a row sent yields a duplicate job, never a lost one;
the consumer's inbox turns the duplicate into a no-op.
"""

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from arq.constants import result_key_prefix
from arq.jobs import Job as ArqJob
from arq.jobs import JobStatus
from sqlalchemy import and_, exists, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from shared import clock
from shared.models import OutboxMessage
from shared.queues import EventPayload, Job, Payload, Target, queue_name, serialize
from shared.settings import DubanSettings

log = logging.getLogger(__name__)

OUTBOX_WRITTEN = "duban_outbox_written"


async def add_message(
    session: AsyncSession, *, producer: str, target: Target, job: Job, payload: Payload
) -> uuid.UUID:
    """Queue a job for `target` in the caller's transaction; it is sent once that commits.

    A Core INSERT rather than the ORM unit of work: every write path pays for this.
    """
    message_id = uuid.uuid4()
    await session.execute(
        insert(OutboxMessage.__table__).values(  # type: ignore[attr-defined]
            id=message_id,
            producer=producer,
            target=target.value,
            job=job.value,
            payload=payload.model_dump(mode="json"),
            attempts=0,
        )
    )
    session.info[OUTBOX_WRITTEN] = True
    return message_id


async def publish_event(
    session: AsyncSession,
    *,
    event: str,
    subject_type: str,
    subject_id: uuid.UUID,
    data: dict[str, Any],
    occurred_at: datetime | None = None,
    producer: str = "api",
) -> uuid.UUID:
    """An event other systems may subscribe to (signed webhooks), sent to the notifier once this commits."""
    payload = EventPayload(
        event=event,
        subject_type=subject_type,
        subject_id=subject_id,
        occurred_at=occurred_at or clock.now(),
        data=data,
    )
    return await add_message(
        session, producer=producer, target=Target.NOTIFIER, job=Job.EVENT, payload=payload
    )


async def publish_events(session: AsyncSession, events: Sequence[EventPayload], *, producer: str) -> None:
    """Many events in one INSERT (a sweep's notices), each sent to the notifier once this commits."""
    if not events:
        return
    await session.execute(
        text(
            "INSERT INTO outbox (id, producer, target, job, payload, attempts) "
            "SELECT gen_random_uuid(), :producer, :target, :job, CAST(p AS jsonb), 0 "
            "FROM unnest(CAST(:payloads AS text[])) AS p"
        ),
        {
            "producer": producer,
            "target": Target.NOTIFIER.value,
            "job": Job.EVENT.value,
            "payloads": [e.model_dump_json() for e in events],
        },
    )
    session.info[OUTBOX_WRITTEN] = True


async def _enqueue(redis: ArqRedis, settings: DubanSettings, message: OutboxMessage) -> bool:
    job = await redis.enqueue_job(
        message.job,
        str(message.id),
        message.payload,
        _job_id=str(message.id),
        _queue_name=queue_name(settings, message.target, message.job),
    )
    # None: a job with this id is still queued, running, or its result is kept.
    return job is not None


async def _enqueue_again(redis: ArqRedis, settings: DubanSettings, message: OutboxMessage) -> bool:
    """Enqueue a message its consumer never applied. A job that ended without applying it —
    arq found its data gone (Redis flushed while it was taken: "job expired") or it failed every
    try — keeps a result for an hour that would make arq refuse the job id: that result is
    dropped first. A job still queued or running is left alone."""
    if await _enqueue(redis, settings, message):
        return True
    job = ArqJob(str(message.id), redis, _queue_name=queue_name(settings, message.target, message.job))
    if await job.status() != JobStatus.complete:
        return False
    await redis.delete(result_key_prefix + str(message.id))
    return await _enqueue(redis, settings, message)


async def relay(
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    settings: DubanSettings,
    *,
    targets: Iterable[Target] | None = None,
    older_than_seconds: float = 0,
    batch: int = 200,
) -> int:
    """Send unsent rows to their queues, oldest first; returns how many were sent."""
    sent = 0
    while True:
        async with sessions() as session, session.begin():
            query = select(OutboxMessage).where(col(OutboxMessage.sent_at).is_(None))
            if targets is not None:
                query = query.where(col(OutboxMessage.target).in_([t.value for t in targets]))
            if older_than_seconds:
                query = query.where(
                    col(OutboxMessage.created_at)
                    < func.now() - text(f"interval '{float(older_than_seconds)} s'")
                )
            query = (
                query.order_by(col(OutboxMessage.created_at)).limit(batch).with_for_update(skip_locked=True)
            )
            rows = (await session.execute(query)).scalars().all()
            for message in rows:
                await _enqueue(redis, settings, message)
            if rows:
                await session.execute(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id).in_([m.id for m in rows]))
                    .values(sent_at=func.now(), attempts=col(OutboxMessage.attempts) + 1)
                )
        sent += len(rows)
        if len(rows) < batch:
            return sent


async def redeliver(
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    settings: DubanSettings,
    *,
    target: Target,
    inbox: Any,
    older_than_seconds: float,
    max_attempts: int,
    batch: int = 200,
) -> int:
    """Enqueue again rows sent long ago that `target`'s inbox has not applied (Redis lost them),
    oldest first, a batch a transaction, until a batch is not all enqueued again (the rest are
    still queued, or there are no more): a flushed Redis is made good in one pass, not 200 rows a
    reconciler tick."""
    total = 0
    while True:
        async with sessions() as session, session.begin():
            applied = exists().where(inbox.message_id == col(OutboxMessage.id))
            query = (
                select(OutboxMessage)
                .where(
                    and_(
                        col(OutboxMessage.target) == target.value,
                        col(OutboxMessage.sent_at)
                        < func.now() - text(f"interval '{float(older_than_seconds)} s'"),
                        col(OutboxMessage.attempts) < max_attempts,
                        ~applied,
                    )
                )
                .order_by(col(OutboxMessage.sent_at))
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
            rows = (await session.execute(query)).scalars().all()
            again = [m.id for m in rows if await _enqueue_again(redis, settings, m)]
            if again:
                await session.execute(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id).in_(again))
                    .values(sent_at=func.now(), attempts=col(OutboxMessage.attempts) + 1)
                )
                log.warning(
                    "redelivered outbox messages", extra={"count": len(again), "target": target.value}
                )
        total += len(again)
        if len(again) < batch:
            return total


__all__ = ["OUTBOX_WRITTEN", "add_message", "redeliver", "relay", "serialize"]
