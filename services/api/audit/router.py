"""The audit log, for auditors."""

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from services.api.audit import service
from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.pagination import Page, PageDep
from services.api.routing import SessionDep, router
from shared.dates import Instant, Stamp

audit_log = router(prefix="/audit", tags=["audit"])


class AuditPublic(BaseModel):
    id: int
    occurred_at: Stamp
    actor_kind: str
    actor_id: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str | None
    hash: str | None = Field(
        description="The row's link in the tamper-evident chain; null for a few seconds after "
        "the change, until the api's background pass chains it."
    )


@audit_log.get("", response_model=Page[AuditPublic])
async def list_audit(
    session: SessionDep,
    principal: Annotated[Principal, authorize(Action.AUDIT_READ)],
    page: PageDep,
    entity: Annotated[str | None, Query(max_length=64, examples=["unit"])] = None,
    entity_id: Annotated[str | None, Query(max_length=80)] = None,
    since: Instant | None = None,
    until: Instant | None = None,
) -> Page[AuditPublic]:
    """Changes to records of your subtree, newest first; filter by entity and time."""
    rows, count = await service.list_entries(
        session, principal=principal, page=page, entity=entity, entity_id=entity_id, since=since, until=until
    )
    return Page(data=[AuditPublic.model_validate(r, from_attributes=True) for r in rows], count=count)
