"""The inbox: notices to units in the caller's subtree, with their colour as of today."""

import uuid
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import case, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.principal import Principal
from services.api.auth.scope import get_visible, owned_or_403, require_visible_units, visible
from services.api.notices.schemas import Colour, NoticeAccepted, NoticeIn, NoticePublic, Subject
from services.api.pagination import PageParams, paginate
from shared import calendar, clock
from shared.clock import OFFICE_TZ
from shared.errors import Conflict, InvalidState, field_error
from shared.i18n import N_, tr, word
from shared.models import Notice, NoticeActionRecord, Problem, Program, Project, Task, Unit
from shared.outbox import add_message
from shared.queues import IssueNoticePayload, Job, NoticeActionPayload, Target
from shared.vocabulary import NoticeAction, NoticeKind, NoticeState

WARNING_WORKING_DAYS = 2  # yellow: due within this many working days
OFFICE_ONLY = N_("Only the program's office (or an office above it) issues its own notices.")
MATTERS: dict[str, Any] = {"project": Project, "unit": Unit, "task": Task, "problem": Problem}


async def colour_now(session: AsyncSession) -> Any:
    """A notice's colour as of today, as SQL: red past its due date, yellow due within two
    working days, green else; none once it no longer stands."""
    today = clock.today()
    cal = await calendar.load(session, [today.year, today.year + 1])
    return colour_of(today, cal.add_working_days(today, WARNING_WORKING_DAYS).date)


def colour_of(today: date, soon: date) -> Any:
    return case(
        (col(Notice.state) != NoticeState.ISSUED, literal(None)),
        (col(Notice.due_date) < today, literal(Colour.RED.value)),
        (col(Notice.due_date) <= soon, literal(Colour.YELLOW.value)),
        else_=literal(Colour.GREEN.value),
    )


async def list_notices(
    session: AsyncSession,
    *,
    principal: Principal,
    page: PageParams,
    program_id: UUID | None = None,
    recipient_unit_id: UUID | None = None,
    state: NoticeState | None = None,
    kind: NoticeKind | None = None,
    level: int | None = None,
    subject_type: str | None = None,
    subject_id: UUID | None = None,
    period: str | None = None,
    colour: Colour | None = None,
) -> tuple[list[NoticePublic], int]:
    colour_sql = await colour_now(session)
    stmt = visible(select(Notice, colour_sql.label("colour")), Notice, principal)
    for column, value in (
        (Notice.program_id, program_id), (Notice.recipient_unit_id, recipient_unit_id), (Notice.state, state),
        (Notice.kind, kind), (Notice.level, level), (Notice.subject_type, subject_type),
        (Notice.subject_id, subject_id), (Notice.period, period),
    ):  # fmt: skip
        if value is not None:
            stmt = stmt.where(col(column) == value)
    if colour is not None:
        stmt = stmt.where(colour_sql == colour.value)
    rows, count = await paginate(
        session, stmt, page, col(Notice.issued_at).desc(), col(Notice.level).desc(), whole_rows=True
    )
    return [to_public(notice, shade) for notice, shade in rows], count


async def one(session: AsyncSession, notice: Notice) -> NoticePublic:
    shade = await session.scalar(select(await colour_now(session)).where(col(Notice.id) == notice.id))
    return to_public(notice, shade)


_COPIED = {"id", "chain_id", "program_id", "kind", "level", "recipient_unit_id", "recipient", "requirements",
           "issued_at", "due_date", "state", "parent_id"}  # fmt: skip


def to_public(notice: Notice, colour: str | None) -> NoticePublic:
    return NoticePublic(
        **notice.model_dump(include=_COPIED),
        subject=Subject(type=notice.subject_type, id=notice.subject_id, period=notice.period),
        colour=Colour(colour) if colour else None,
    )


async def record(
    session: AsyncSession,
    *,
    notice: Notice,
    action: NoticeAction,
    principal: Principal,
    text: str | None = None,
) -> NoticeActionRecord:
    """Record a person's action on a notice and hand it to the notifier (in this transaction).

    409 with the reason when the notice cannot take it: feedback on a notice no longer standing,
    an accept with no feedback to accept, or a second accept (nothing is changed)."""
    taken = set(
        await session.scalars(
            select(col(NoticeActionRecord.action)).where(col(NoticeActionRecord.notice_id) == notice.id)
        )
    )
    if NoticeAction.ACCEPT in taken:
        raise Conflict(tr("The office has accepted this notice's feedback already; nothing was changed."))
    if action == NoticeAction.FEEDBACK and notice.state not in (
        NoticeState.ISSUED,
        NoticeState.FEEDBACK_SUBMITTED,
    ):
        raise InvalidState(
            tr(
                "This notice is {state}: answer the notice that stands now.",
                state=word(NoticeState, notice.state),
            )
        )
    if action == NoticeAction.ACCEPT and NoticeAction.FEEDBACK not in taken:
        raise InvalidState(tr("There is no feedback on this notice to accept yet."))
    done = NoticeActionRecord(
        notice_id=notice.id, action=action, text=text, actor=principal.key, at=clock.now()
    )
    session.add(done)
    await session.flush()
    payload = NoticeActionPayload(action_id=done.id, notice_id=notice.id, action=action)
    await add_message(session, producer="api", target=Target.NOTIFIER, job=Job.NOTICE_ACTION, payload=payload)
    return done


async def order(session: AsyncSession, *, data: NoticeIn, principal: Principal) -> NoticeAccepted:
    """Check the office's notice and hand it to the notifier to issue (in this transaction)."""
    program = await get_visible(session, Program, data.program_id, principal, N_("program"))
    await owned_or_403(session, Program, program.id, principal, OFFICE_ONLY)
    await require_visible_units(session, principal, [(["recipient_unit_id"], data.recipient_unit_id)])
    notice_id = uuid.uuid4()
    if data.subject.type == "instruction":
        if data.subject.id is not None:
            raise field_error(["subject", "id"], tr("a leader's instruction has no id: leave it out"))
        subject_id = notice_id
    else:
        model = MATTERS[data.subject.type]
        found = data.subject.id and await session.scalar(
            visible(select(col(model.id)).where(col(model.id) == data.subject.id), model, principal)
        )
        if not found:
            missing = tr(
                "there is no {what} {id} that you can see", what=tr(data.subject.type), id=data.subject.id
            )
            raise field_error(["subject", "id"], missing)
        subject_id = found
    now = clock.now()
    cal = await calendar.load(session, [now.year, now.year + 1])
    due = cal.add_working_days(now.astimezone(OFFICE_TZ).date(), data.due_in_working_days).date
    payload = IssueNoticePayload(
        notice_id=notice_id, program_id=program.id, kind=data.kind, recipient_unit_id=data.recipient_unit_id,
        subject_type=data.subject.type, subject_id=subject_id, requirements=data.requirements,
        due_date=due, issued_at=now, actor=principal.key,
    )  # fmt: skip
    await add_message(session, producer="api", target=Target.NOTIFIER, job=Job.ISSUE_NOTICE, payload=payload)
    return NoticeAccepted(id=notice_id, due_date=due)
