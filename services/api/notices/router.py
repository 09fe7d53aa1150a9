"""Notices: a unit's inbox of reminders, urging and supervision notices (the notifier issues them)."""

from typing import Annotated
from uuid import UUID

from fastapi import Query

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.notices import service
from services.api.notices.schemas import Colour, NoticePublic
from services.api.pagination import Page, PageDep
from services.api.routing import SessionDep, router
from shared.vocabulary import NoticeKind, NoticeState

notices = router(prefix="/notices", tags=["notices"])
Reader = Annotated[Principal, authorize(Action.REPORTS_READ)]


@notices.get("", response_model=Page[NoticePublic])
async def list_notices(
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    program_id: UUID | None = None,
    recipient_unit_id: UUID | None = None,
    state: NoticeState | None = None,
    kind: NoticeKind | None = None,
    level: Annotated[int | None, Query(ge=0, le=5)] = None,
    subject_type: Annotated[str | None, Query(pattern="^(project|unit)$")] = None,
    subject_id: UUID | None = None,
    period: Annotated[str | None, Query(max_length=16, examples=["2018-09"])] = None,
    colour: Annotated[
        Colour | None, Query(description="green, yellow (due within 2 working days) or red")
    ] = None,
) -> Page[NoticePublic]:
    """Notices to units in your subtree, newest first; an office sees all below it."""
    rows, count = await service.list_notices(
        session, principal=principal, page=page, program_id=program_id, recipient_unit_id=recipient_unit_id,
        state=state, kind=kind, level=level, subject_type=subject_type, subject_id=subject_id, period=period,
        colour=colour,
    )  # fmt: skip
    return Page(data=rows, count=count)
