"""What a notice waits on, as SQL the api (the inbox) and the notifier (the office's reminders,
the digests) both read: an answer the office has yet to decide, and since when; a notice's
colour as of a day."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared import calendar, clock
from shared.clock import OFFICE_TZ
from shared.models import Notice, NoticeActionRecord, Program
from shared.program_settings import ProgramSettings
from shared.vocabulary import NoticeAction, NoticeKind, NoticeState

ANSWERS = (NoticeAction.FEEDBACK, NoticeAction.EXPLANATION)
AWAITING = (NoticeState.FEEDBACK_SUBMITTED, NoticeState.EXPLANATION_SUBMITTED)  # the office decides


def awaiting_since() -> Any:
    """When the answer the office has yet to decide came, for a notice awaiting a decision."""
    latest = (
        select(func.max(col(NoticeActionRecord.at)))
        .where(
            col(NoticeActionRecord.notice_id) == col(Notice.id), col(NoticeActionRecord.action).in_(ANSWERS)
        )
        .scalar_subquery()
    )
    return case((col(Notice.state).in_(AWAITING), latest), else_=None)


class Colour(StrEnum):
    """红黄绿灯: a notice waiting on the unit is green on track, yellow due within the program's
    warning window (notice_rules.warning_working_days), red overdue."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


WAITING = (NoticeState.ISSUED, NoticeState.REOPENED)  # on the unit to act: these have a colour


async def colour_now(session: AsyncSession, as_of: datetime | None = None) -> Any:
    """A notice's colour as of today (or the day of `as_of`), as SQL: red past its due date,
    yellow due within the program's warning window (working days), green else; none unless it
    waits on the unit."""
    today = as_of.astimezone(OFFICE_TZ).date() if as_of is not None else clock.today()
    cal = await calendar.load(session, [today.year, today.year + 1])
    programs = (await session.execute(select(col(Program.id), col(Program.settings)))).all()
    soon = {
        program_id: cal.add_working_days(
            today, ProgramSettings.model_validate(settings).notice_rules.warning_working_days
        ).date
        for program_id, settings in programs
    }
    return colour_of(today, soon)


def colour_of(today: date, soon: dict[Any, date]) -> Any:
    warning = case(
        *((col(Notice.program_id) == program_id, literal(day)) for program_id, day in soon.items()),
        else_=literal(today),
    ) if soon else literal(today)  # fmt: skip
    return case(
        (or_(col(Notice.state).not_in(WAITING), col(Notice.kind) == NoticeKind.PRAISE), literal(None)),
        (col(Notice.due_date) < today, literal(Colour.RED.value)),
        (col(Notice.due_date) <= warning, literal(Colour.YELLOW.value)),
        else_=literal(Colour.GREEN.value),
    )


__all__ = ["ANSWERS", "AWAITING", "WAITING", "Colour", "awaiting_since", "colour_now", "colour_of"]
