"""The inbox: notices to units in the caller's subtree, with their colour as of today."""

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import case, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.principal import Principal
from services.api.auth.scope import visible
from services.api.notices.schemas import Colour, NoticePublic, Subject
from services.api.pagination import PageParams, paginate
from shared import calendar, clock
from shared.errors import Conflict, InvalidState
from shared.i18n import tr, word
from shared.models import Notice, NoticeActionRecord
from shared.outbox import add_message
from shared.queues import Job, NoticeActionPayload, Target
from shared.vocabulary import NoticeAction, NoticeKind, NoticeState

WARNING_WORKING_DAYS = 2  # yellow: due within this many working days


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
