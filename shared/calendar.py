"""The working-day calendar: weekends, public holidays and make-up working days (调休).

`add_working_days` is the one function every deadline uses. A year the office has not
loaded counts weekends only, and every result says whether it rests on complete data.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from chinese_calendar.constants import holidays as packaged_holidays
from chinese_calendar.constants import workdays as packaged_workdays
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared.models import CalendarDay, CalendarYear


@dataclass(frozen=True)
class Day:
    date: date
    complete: bool  # False: a year without calendar data was counted on weekends only


@dataclass
class WorkingCalendar:
    """Holidays and make-up working days of the years it knows."""

    holidays: set[date] = field(default_factory=set)
    workdays: set[date] = field(default_factory=set)
    years: set[int] = field(default_factory=set)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def next_working_day(self, day: date) -> Day:
        """`day` itself when it is a working day, else the first working day after it."""
        return self.add_working_days(day, 0)

    def add_working_days(self, start: date, days: int) -> Day:
        """The date `days` working days after `start` (before it when negative).

        With 0, `start` itself if it is a working day, else the next one: a deadline that
        falls on a day off moves to the next working day.
        """
        complete = start.year in self.years
        current = start
        if days == 0:
            while not self.is_working_day(current):
                current += timedelta(days=1)
                complete = complete and current.year in self.years
            return Day(current, complete)
        step = timedelta(days=1 if days > 0 else -1)
        remaining = abs(days)
        while remaining:
            current += step
            complete = complete and current.year in self.years
            if self.is_working_day(current):
                remaining -= 1
        return Day(current, complete)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            count += self.is_working_day(current)
        return count


async def load(session: AsyncSession, years: Iterable[int]) -> WorkingCalendar:
    """The calendar for `years` (and the year after each, where deadlines spill over)."""
    wanted = set(years) | {y + 1 for y in years}
    cal = WorkingCalendar()
    # One round trip: each loaded year, with its days when it has any.
    rows = await session.execute(
        select(col(CalendarYear.year), col(CalendarDay.day), col(CalendarDay.kind))
        .outerjoin(CalendarDay, col(CalendarDay.year) == col(CalendarYear.year))
        .where(col(CalendarYear.year).in_(wanted))
    )
    for year, day, kind in rows:
        cal.years.add(year)
        if day is not None:
            (cal.holidays if kind == "holiday" else cal.workdays).add(day)
    return cal


def packaged_years() -> dict[int, tuple[list[date], list[date]]]:
    """{year: (holidays, make-up workdays)} as the `chinese-calendar` package knows them."""
    out: dict[int, tuple[list[date], list[date]]] = {}
    for day in packaged_holidays:
        out.setdefault(day.year, ([], []))[0].append(day)
    for day in packaged_workdays:
        out.setdefault(day.year, ([], []))[1].append(day)
    return {y: (sorted(h), sorted(w)) for y, (h, w) in sorted(out.items())}
