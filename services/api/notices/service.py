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
from shared.models import Notice
from shared.vocabulary import NoticeKind, NoticeState

WARNING_WORKING_DAYS = 2  # yellow: due within this many working days


def colour_of(today: date, soon: date) -> Any:
    """The colour as SQL: red past the due date, yellow due by `soon`, green else (standing only)."""
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
    today = clock.today()
    cal = await calendar.load(session, [today.year, today.year + 1])
    colour_sql = colour_of(today, cal.add_working_days(today, WARNING_WORKING_DAYS).date)
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


_COPIED = {"id", "chain_id", "program_id", "kind", "level", "recipient_unit_id", "recipient", "requirements",
           "issued_at", "due_date", "state", "parent_id"}  # fmt: skip


def to_public(notice: Notice, colour: str | None) -> NoticePublic:
    return NoticePublic(
        **notice.model_dump(include=_COPIED),
        subject=Subject(type=notice.subject_type, id=notice.subject_id, period=notice.period),
        colour=Colour(colour) if colour else None,
    )
