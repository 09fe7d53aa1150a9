"""Idempotent consumers: record a message id with the effect, in one transaction."""

from typing import Any
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession


async def claim(session: AsyncSession, inbox: Any, *, message_id: UUID | str, job: str) -> bool:
    """Record `message_id` in `inbox`; False when it was applied before (do nothing then).

    Call inside the transaction that applies the effect: if that transaction rolls back,
    the claim goes with it and a redelivery applies the message again.
    """
    stmt = (
        insert(inbox)
        .values(message_id=UUID(str(message_id)), job=job)
        .on_conflict_do_nothing()
        .returning(inbox.message_id)
    )
    return (await session.execute(stmt)).first() is not None
