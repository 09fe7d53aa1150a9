"""Notices: a unit's inbox of reminders, urging and supervision notices (the notifier issues them)."""

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import Depends, Query, status

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.auth.scope import owned_or_403
from services.api.notices import service
from services.api.notices.schemas import (
    ActionPublic,
    DeliveryPublic,
    DigestPublic,
    ExplanationIn,
    FeedbackIn,
    NoticeAccepted,
    NoticeDetail,
    NoticeIn,
    NoticePublic,
    RejectIn,
    WithdrawIn,
)
from services.api.pagination import Page, PageDep
from services.api.records import NoticeDep
from services.api.reports.schemas import as_of_param
from services.api.routing import SessionDep, router
from services.api.validation import also_checked
from shared.i18n import N_
from shared.models import Program
from shared.notice_facts import Colour
from shared.vocabulary import NoticeAction, NoticeKind, NoticeState, SendState

notices = router(prefix="/notices", tags=["notices"])
digests = router(prefix="/digests", tags=["notices"])
deliveries = router(prefix="/deliveries", tags=["notices"])


async def optional_as_of(
    as_of: Annotated[
        str | None,
        Query(
            description="colour as of this instant (RFC 3339) or date (its end, Asia/Shanghai), and list "
            "only the notices issued by then; default now",
            examples=["2018-10-08"],
        ),
    ] = None,
) -> datetime | None:
    return None if as_of is None else as_of_param(as_of)


Reader = Annotated[Principal, authorize(Action.REPORTS_READ)]
Answerer = Annotated[Principal, authorize(Action.REPORTS_WRITE)]
Office = Annotated[Principal, authorize(Action.PROBLEMS_CONFIRM)]
ACCEPTERS = N_("Only the program's office (or an office above it) decides on answers to its notices.")


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
    subject_type: Annotated[
        str | None, Query(pattern="^(project|unit|milestone|problem|task|instruction)$")
    ] = None,
    subject_id: UUID | None = None,
    period: Annotated[str | None, Query(max_length=16, examples=["2018-09"])] = None,
    colour: Annotated[
        Colour | None, Query(description="green, yellow (due within the warning window) or red")
    ] = None,
    as_of: Annotated[datetime | None, Depends(optional_as_of)] = None,
    awaiting: Annotated[
        Literal["office"] | None,
        Query(
            description="office: the notices whose feedback or explanation waits for the office's "
            "decision, the longest waiting first"
        ),
    ] = None,
) -> Page[NoticePublic]:
    """Notices to units in your subtree, newest first; an office sees all below it."""
    rows, count = await service.list_notices(
        session, principal=principal, page=page, program_id=program_id, recipient_unit_id=recipient_unit_id,
        state=state, kind=kind, level=level, subject_type=subject_type, subject_id=subject_id, period=period,
        colour=colour, awaiting=awaiting, as_of=as_of,
    )  # fmt: skip
    return Page(data=rows, count=count)


@notices.post("", status_code=status.HTTP_202_ACCEPTED, response_model=NoticeAccepted)
@also_checked(NoticeIn, service.order_checks)
async def issue(session: SessionDep, principal: Office, data: NoticeIn) -> NoticeAccepted:
    """The office's own urging or supervision notice on a matter it names (a project, a unit, a
    task, a problem, a leader's instruction), due in working days; the notifier issues it."""
    return await service.order(session, data=data, principal=principal)


@notices.get("/{notice_id:uuid}", response_model=NoticeDetail)
async def get_notice(
    session: SessionDep,
    principal: Reader,
    notice: NoticeDep,
    as_of: Annotated[datetime | None, Depends(optional_as_of)] = None,
) -> NoticeDetail:
    """A notice, with its colour as of today, why it ended, and every action on it (who, when,
    the feedback's text, the explanation's reason and proposed day, the office's decisions)."""
    return await service.one(session, notice, as_of)


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
    """The office accepts the latest answer: feedback ends the notice's chain (nothing more is
    issued on it); an explanation moves the deadline to its proposed day, and the ladder with it."""
    await owned_or_403(session, Program, notice.program_id, principal, ACCEPTERS)
    done = await service.record(session, notice=notice, action=NoticeAction.ACCEPT, principal=principal)
    return ActionPublic.model_validate(done, from_attributes=True)


@notices.post(
    "/{notice_id:uuid}/explanation", status_code=status.HTTP_202_ACCEPTED, response_model=ActionPublic
)
@also_checked(ExplanationIn, service.explanation_checks)
async def explain(
    session: SessionDep, principal: Answerer, notice: NoticeDep, data: ExplanationIn
) -> ActionPublic:
    """Why it cannot be done in time, with the day it can (延期申请), before the deadline: the
    chain's clock pauses until the office accepts (the deadline becomes that day) or rejects it."""
    done = await service.record(
        session, notice=notice, action=NoticeAction.EXPLANATION, principal=principal, text=data.reason,
        proposed_due_date=data.proposed_due_date,
    )  # fmt: skip
    return ActionPublic.model_validate(done, from_attributes=True)


@notices.post("/{notice_id:uuid}/withdraw", status_code=status.HTTP_202_ACCEPTED, response_model=ActionPublic)
async def withdraw(
    session: SessionDep, principal: Office, notice: NoticeDep, data: WithdrawIn
) -> ActionPublic:
    """The office withdraws a notice issued by mistake, with its reason: the notice's chain ends
    (`withdrawn`), nothing more is issued on it, and the recipient sees why (and its webhooks
    get `notice.closed`)."""
    await owned_or_403(session, Program, notice.program_id, principal, ACCEPTERS)
    done = await service.record(
        session, notice=notice, action=NoticeAction.WITHDRAW, principal=principal, text=data.reason
    )
    return ActionPublic.model_validate(done, from_attributes=True)


@notices.post("/{notice_id:uuid}/reject", status_code=status.HTTP_202_ACCEPTED, response_model=ActionPublic)
async def reject(session: SessionDep, principal: Office, notice: NoticeDep, data: RejectIn) -> ActionPublic:
    """The office rejects the latest answer, with its reason: feedback is returned for rework
    (退办) and the notice is due again by a new deadline; an explanation is refused and the
    clock resumes from where it paused."""
    await owned_or_403(session, Program, notice.program_id, principal, ACCEPTERS)
    done = await service.record(
        session, notice=notice, action=NoticeAction.REJECT, principal=principal, text=data.reason,
        due_in_working_days=data.due_in_working_days,
    )  # fmt: skip
    return ActionPublic.model_validate(done, from_attributes=True)


@digests.get("", response_model=Page[DigestPublic])
async def list_digests(
    session: SessionDep,
    principal: Office,
    page: PageDep,
    unit_id: UUID | None = None,
    day: Annotated[
        date | None, Query(alias="date", description="the day it was written (Asia/Shanghai)")
    ] = None,
) -> Page[DigestPublic]:
    """What each unit of your subtree was told, day by day (the office): the message's text, how
    many notices it listed, when it first reached someone, and each person and channel it went
    to. Replays (`duban notifier sweep --as-of`) write them too."""
    rows, count = await service.digests(session, principal=principal, page=page, unit_id=unit_id, day=day)
    told = await service.told(session, [d.id for d in rows])
    return Page(
        data=[DigestPublic.model_validate({**d.model_dump(), "told": told[d.id]}) for d in rows], count=count
    )


@deliveries.get("", response_model=Page[DeliveryPublic])
async def list_deliveries(
    session: SessionDep,
    principal: Office,
    page: PageDep,
    program_id: UUID | None = None,
    unit_id: UUID | None = None,
    state: SendState | None = None,
    channel: Annotated[str | None, Query(max_length=32, description="log, email, sms, …")] = None,
) -> Page[DeliveryPublic]:
    """What went to whom, when, through what, and what the gateway said (the office): one row
    per digest, person and channel, for units of your subtree; `state=failed` lists what never
    arrived (a refused address, a number out of service) with the gateway's words."""
    rows, count = await service.deliveries(
        session,
        principal=principal,
        page=page,
        program_id=program_id,
        unit_id=unit_id,
        state=state,
        channel=channel,
    )
    return Page(
        data=[
            DeliveryPublic.model_validate(
                {**d.model_dump(), "subject": d.content.get("subject", ""),
                 "next_attempt_at": d.next_attempt_at if d.state == SendState.PENDING else None}
            )
            for d in rows
        ],
        count=count,
    )  # fmt: skip
