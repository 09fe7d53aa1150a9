"""Reading the audit log of the caller's subtree."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.principal import Principal
from services.api.auth.scope import visible
from services.api.pagination import PageParams, paginate
from shared.models import AuditEntry


async def list_entries(
    session: AsyncSession,
    *,
    principal: Principal,
    page: PageParams,
    entity: str | None = None,
    entity_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[AuditEntry], int]:
    """Changes to records of the principal's subtree, newest first."""
    stmt = visible(select(AuditEntry), AuditEntry, principal)
    if entity:
        stmt = stmt.where(col(AuditEntry.entity) == entity)
    if entity_id:
        stmt = stmt.where(col(AuditEntry.entity_id) == entity_id)
    if since:
        stmt = stmt.where(col(AuditEntry.occurred_at) >= since)
    if until:
        stmt = stmt.where(col(AuditEntry.occurred_at) < until)
    return await paginate(session, stmt, page, col(AuditEntry.id).desc())
