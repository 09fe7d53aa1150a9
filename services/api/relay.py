"""The api's background pass, woken right after a commit that wrote outbox rows and on a timer:
send outbox rows to their queues, chain new audit rows, sweep expired idempotency keys."""

import asyncio
import contextlib
import logging
from datetime import timedelta

from arq.connections import ArqRedis
from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.api.idempotency import purge_expired
from shared import audit
from shared.models import AuditEntry, OutboxMessage
from shared.outbox import relay
from shared.settings import ApiSettings

log = logging.getLogger(__name__)
OUTBOX_UNSENT = Gauge("duban_outbox_unsent", "Outbox messages not yet sent to a queue")
AUDIT_UNCHAINED = Gauge("duban_audit_unchained", "Audit rows committed but not yet hash-chained")
_PURGE_EVERY = 300  # relay passes between sweeps of expired idempotency keys


class Relay:
    """A background task sending committed outbox rows to their queues."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis, settings: ApiSettings
    ) -> None:
        self.sessions, self.redis, self.settings = sessions, redis, settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        passes = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.relay_interval_seconds)
            self._wake.clear()
            try:
                await relay(self.sessions, self.redis, self.settings)
                passes += 1
                async with self.sessions() as session:
                    # small batches: the hashing runs on the event loop between requests
                    await audit.chain_all(session, batch=500)
                async with self.sessions() as session, session.begin():
                    unsent = select(func.count()).where(col(OutboxMessage.sent_at).is_(None))
                    OUTBOX_UNSENT.set(await session.scalar(unsent) or 0)
                    unchained = select(func.count()).where(col(AuditEntry.hash).is_(None))
                    AUDIT_UNCHAINED.set(await session.scalar(unchained) or 0)
                    if passes % _PURGE_EVERY == 1:
                        await purge_expired(session, timedelta(hours=self.settings.idempotency_ttl_hours))
            except Exception:
                # Redis or PostgreSQL away: the rows stay unsent and the next pass
                # (or a worker's reconciler) sends them.
                log.warning("outbox relay pass failed", exc_info=True)
                await asyncio.sleep(min(5.0, self.settings.relay_interval_seconds))
