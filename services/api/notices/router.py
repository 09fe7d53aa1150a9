"""Notices: a unit's inbox of reminders, urging and supervision notices (the notifier issues them)."""

from typing import Annotated
from uuid import UUID

from fastapi import Query, status

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.auth.scope import owned_or_403
from services.api.notices import service
from services.api.notices.schemas import (
    ActionPublic,
    Colour,
    FeedbackIn,
    NoticeAccepted,
    NoticeIn,
    NoticePublic,
)
from services.api.pagination import Page, PageDep
from services.api.records import NoticeDep
from services.api.routing import SessionDep, router
from shared.i18n import N_
from shared.models import Program
from shared.vocabulary import NoticeAction, NoticeKind, NoticeState

notices = router(prefix="/notices", tags=["notices"])
Reader = Annotated[Principal, authorize(Action.REPORTS_READ)]
Answerer = Annotated[Principal, authorize(Action.REPORTS_WRITE)]
Office = Annotated[Principal, authorize(Action.PROBLEMS_CONFIRM)]
ACCEPTERS = N_("Only the program's office (or an office above it) accepts feedback on its notices.")


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


@notices.post("", status_code=status.HTTP_202_ACCEPTED, response_model=NoticeAccepted)
async def issue(session: SessionDep, principal: Office, data: NoticeIn) -> NoticeAccepted:
    """The office's own urging or supervision notice on a matter it names (a project, a unit, a
    task, a problem, a leader's instruction), due in working days; the notifier issues it."""
    return await service.order(session, data=data, principal=principal)


@notices.get("/{notice_id:uuid}", response_model=NoticePublic)
async def get_notice(session: SessionDep, principal: Reader, notice: NoticeDep) -> NoticePublic:
    """A notice, with its colour as of today."""
    return await service.one(session, notice)


@notices.post("/{notice_id:uuid}/feedback", status_code=status.HTTP_202_ACCEPTED, response_model=ActionPublic)
async def feedback(
    session: SessionDep, principal: Answerer, notice: NoticeDep, data: FeedbackIn
) -> ActionPublic:
    """The unit's written feedback on the result (书面反馈); the office then accepts it or not."""
    done = await service.record(
        session, notice=notice, action=NoticeAction.FEEDBACK, principal=principal, text=data.text
    )
    return ActionPublic.model_validate(done, from_attributes=True)


@notices.post("/{notice_id:uuid}/accept", status_code=status.HTTP_202_ACCEPTED, response_model=ActionPublic)
async def accept(session: SessionDep, principal: Office, notice: NoticeDep) -> ActionPublic:
    """The office accepts the feedback: the notice's chain ends, nothing more is issued on it."""
    await owned_or_403(session, Program, notice.program_id, principal, ACCEPTERS)
    done = await service.record(session, notice=notice, action=NoticeAction.ACCEPT, principal=principal)
    return ActionPublic.model_validate(done, from_attributes=True)
