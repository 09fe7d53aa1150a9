"""The unit-subtree filter: every query for records that belong to a unit goes through here."""

import uuid
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.auth.principal import Principal
from shared.errors import NotFound
from shared.models import Unit

M = TypeVar("M")


def subtree_ids(principal: Principal) -> Select[tuple[uuid.UUID]]:
    """Ids of the units in the principal's subtree (its own unit and everything below)."""
    return select(Unit.id).where(Unit.path.startswith(principal.unit_path, autoescape=True))


def visible(stmt: Select[Any], model: Any, principal: Principal) -> Select[Any]:
    """`stmt` narrowed to rows of `model` inside the principal's subtree.

    Each model names the column that places it in the tree (`subtree_column`).
    """
    if model is Unit:
        return stmt.where(Unit.path.startswith(principal.unit_path, autoescape=True))
    column = getattr(model, model.subtree_column)
    return stmt.where(column.in_(subtree_ids(principal)))


async def get_visible(
    session: AsyncSession, model: type[M], record_id: uuid.UUID, principal: Principal, what: str
) -> M:
    """The record, or 404 when it does not exist *or* is outside the principal's subtree."""
    found = await session.scalar(visible(select(model).where(model.id == record_id), model, principal))  # type: ignore[attr-defined]
    if found is None:
        raise NotFound(f"There is no {what} with id {record_id} that you can see.")
    return found
