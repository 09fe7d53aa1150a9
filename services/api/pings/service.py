"""Pings: an operator's proof that api → outbox → Redis → worker → PostgreSQL works."""

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.pings.schemas import PingCreate, PingPublic, PingReceipt
from shared.errors import NotFound
from shared.i18n import tr
from shared.models import NotifierPingReceipt, Ping, RankerPingReceipt
from shared.outbox import add_message
from shared.queues import Job, PingPayload, Target

_RECEIPTS: dict[Target, type[NotifierPingReceipt] | type[RankerPingReceipt]] = {
    Target.NOTIFIER: NotifierPingReceipt,
    Target.RANKER: RankerPingReceipt,
}


async def send(session: AsyncSession, *, data: PingCreate) -> Ping:
    """Record a ping and queue one job per target, in the caller's transaction."""
    ping = Ping(targets=[t.value for t in data.targets], delay_seconds=data.delay_seconds)
    session.add(ping)
    for target in data.targets:
        payload = PingPayload(ping_id=ping.id, delay_seconds=data.delay_seconds)
        await add_message(session, producer="api", target=target, job=Job.PING, payload=payload)
    return ping


async def get(session: AsyncSession, *, ping_id: UUID) -> PingPublic:
    """A ping with the receipts the workers wrote for it."""
    ping = await session.get(Ping, ping_id)
    if ping is None:
        raise NotFound(tr("There is no ping with id {id}.", id=ping_id))

    receipts: list[PingReceipt] = []
    for target, model in _RECEIPTS.items():
        rows: list[NotifierPingReceipt | RankerPingReceipt] = list(
            await session.scalars(select(model).where(col(model.ping_id) == ping_id))
        )
        receipts += [PingReceipt(service=target, received_at=r.received_at, job_try=r.job_try) for r in rows]
    received = {r.service for r in receipts}
    targets = [Target(t) for t in ping.targets]
    return PingPublic(
        id=ping.id,
        targets=targets,
        delay_seconds=ping.delay_seconds,
        created_at=ping.created_at,
        receipts=sorted(receipts, key=lambda r: r.service),
        complete=set(targets) <= received,
    )
