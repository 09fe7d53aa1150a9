"""Ping endpoints."""

from typing import Annotated
from uuid import UUID

from fastapi import status

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.pings import service
from services.api.pings.schemas import PingAccepted, PingCreate, PingPublic
from services.api.routing import SessionDep, router

pings = router(prefix="/pings", tags=["operations"])
Operator = Annotated[Principal, authorize(Action.OPS_PING)]


@pings.post("", status_code=status.HTTP_202_ACCEPTED, response_model=PingAccepted)
async def send_ping(data: PingCreate, session: SessionDep, _: Operator) -> PingAccepted:
    """Send a ping through the outbox to the workers; poll it to see them record it."""
    ping = await service.send(session, data=data)
    return PingAccepted(id=ping.id)


@pings.get("/{ping_id:uuid}", response_model=PingPublic)
async def get_ping(ping_id: UUID, session: SessionDep, _: Operator) -> PingPublic:
    """A ping and which workers have recorded it."""
    return await service.get(session, ping_id=ping_id)
