"""The api's background pass, woken right after a commit that wrote outbox rows and on a timer
(DUBAN_RELAY_INTERVAL_SECONDS). Each pass does three chores, in this order:

1. relay: send committed outbox rows to their workers' queues;
2. chain: give new audit rows their place and hash in the tamper-evident chain;
3. purge: every few hundred passes, forget Idempotency-Key responses past their retention;

and updates the gauges /metrics shows (outbox backlog, audit rows waiting for their hash)."""

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


class BackgroundPass:
    """The api's one background task: relay the outbox, chain the audit log, purge old keys."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis, settings: ApiSettings
    ) -> None:
        self.sessions, self.redis, self.settings = sessions, redis, settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="background-pass")

    async def stop(self) -> None:
        """End the pass. The flag as well as the cancellation: a cancellation can be lost (one that
        meets `wait_for`'s own timeout in Python 3.11, or a library that swallows it), and then the
        loop ran on and the api never finished shutting down."""
        if self._task:
            self._stopping = True
            self._wake.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        passes = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.relay_interval_seconds)
            if self._stopping:
                return
            self._wake.clear()
            try:
                await self.relay_outbox()
                await self.chain_audit()
                await self.measure_and_purge(purge=passes % _PURGE_EVERY == 0)
                passes += 1
            except Exception:
                # Redis or PostgreSQL away: the rows stay unsent and the next pass
                # (or a worker's reconciler) sends them.
                log.warning("background pass failed", exc_info=True)
                await asyncio.sleep(min(5.0, self.settings.relay_interval_seconds))

    async def relay_outbox(self) -> None:
        """Send committed outbox rows to their queues."""
        await relay(self.sessions, self.redis, self.settings)

    async def chain_audit(self) -> None:
        """Chain audit rows committed since the last pass (small batches: the hashing runs on the
        event loop between requests)."""
        async with self.sessions() as session:
            await audit.chain_all(session, batch=500)

    async def measure_and_purge(self, *, purge: bool) -> None:
        """Update the outbox and audit gauges; with `purge`, forget expired Idempotency-Key responses."""
        async with self.sessions() as session, session.begin():
            unsent = select(func.count()).where(col(OutboxMessage.sent_at).is_(None))
            OUTBOX_UNSENT.set(await session.scalar(unsent) or 0)
            unchained = select(func.count()).where(col(AuditEntry.hash).is_(None))
            AUDIT_UNCHAINED.set(await session.scalar(unchained) or 0)
            if purge:
                await purge_expired(session, timedelta(hours=self.settings.idempotency_ttl_hours))
