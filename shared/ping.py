"""The ping job's effect, shared by both workers (each with its own tables)."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.inbox import claim
from shared.queues import Job, PingPayload


async def handle_ping(
    sessions: async_sessionmaker[AsyncSession],
    *,
    inbox: Any,
    receipt: Any,
    message_id: str,
    payload: dict[str, Any],
    job_try: int,
) -> bool:
    """Write a receipt for the ping once; False when this message was already applied."""
    ping = PingPayload.model_validate(payload)
    if ping.delay_seconds:
        # Outside the transaction: a worker killed here has written nothing.
        await asyncio.sleep(ping.delay_seconds)
    async with sessions() as session, session.begin():
        if not await claim(session, inbox, message_id=message_id, job=Job.PING):
            return False
        session.add(receipt(ping_id=ping.ping_id, message_id=message_id, job_try=job_try))
    return True


def ping_task(*, inbox: Any, receipt: Any) -> Callable[..., Awaitable[str]]:
    """The `ping` job of a worker whose inbox and receipt tables are given."""

    async def ping(ctx: dict[str, Any], message_id: str, payload: dict[str, Any]) -> str:
        """Record that this worker received a ping (once, however often it is delivered)."""
        applied = await handle_ping(
            ctx["sessions"],
            inbox=inbox,
            receipt=receipt,
            message_id=message_id,
            payload=payload,
            job_try=ctx["job_try"],
        )
        return "applied" if applied else "duplicate"

    return ping
