"""The working-day calendar: each year's holidays and make-up working days (调休)."""

from datetime import date
from typing import Annotated

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import delete, insert, select

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.dates import EARLIEST, LATEST, Day
from services.api.routing import SessionDep, router
from shared import audit, calendar
from shared.errors import NotFound, invalid
from shared.models import CalendarDay, CalendarYear

calendars = router(prefix="/calendar", tags=["calendar"])
Reader = Annotated[Principal, authorize(Action.CALENDAR_READ)]


class YearIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    holidays: list[date] = Field(
        max_length=100, description="public holidays (法定节假日), weekends included or not"
    )
    workdays: list[date] = Field(
        default_factory=list, max_length=30, description="weekend days that are working days (调休上班)"
    )

    @model_validator(mode="after")
    def _disjoint(self) -> "YearIn":
        if set(self.holidays) & set(self.workdays):
            raise ValueError("a day cannot be both a holiday and a working day")
        return self


class YearPublic(BaseModel):
    year: int
    holidays: list[date]
    workdays: list[date]
    source: str = Field(description="chinese-calendar (seeded) or office (loaded through the API)")


class WorkingDay(BaseModel):
    date: date
    complete: bool = Field(description="false: a year without calendar data was counted on weekends only")


@calendars.put("/{year:int}", response_model=YearPublic)
async def put_year(
    year: Annotated[int, Path(ge=EARLIEST.year, le=LATEST.year)],
    data: YearIn,
    session: SessionDep,
    principal: Annotated[Principal, authorize(Action.CALENDAR_WRITE)],
) -> YearPublic:
    """Load (or replace) a year's schedule as the State Council publishes it."""
    problems: list[tuple[list[str | int], str]] = [
        ([name, i], f"{d} is not in {year}")
        for name, days in (("holidays", data.holidays), ("workdays", data.workdays))
        for i, d in enumerate(days)
        if d.year != year
    ]
    problems += [
        (["workdays", i], f"{d} is a weekday already; list only weekend days worked (调休)")
        for i, d in enumerate(data.workdays)
        if d.weekday() < 5
    ]
    if problems:
        raise invalid(problems)
    before = await _year(session, year)
    await session.execute(delete(CalendarDay).where(CalendarDay.year == year))
    await session.execute(delete(CalendarYear).where(CalendarYear.year == year))
    await session.execute(
        insert(CalendarYear).values(year=year, source="office", updated_by=f"{principal.kind}:{principal.id}")
    )
    rows = [{"day": d, "year": year, "kind": "holiday"} for d in sorted(set(data.holidays))]
    rows += [{"day": d, "year": year, "kind": "workday"} for d in sorted(set(data.workdays))]
    if rows:
        await session.execute(insert(CalendarDay), rows)
    after = await _year(session, year)
    await audit.record(
        session,
        actor=principal.actor,
        action="calendar.put",
        entity="calendar",
        entity_id=year,
        before=before.model_dump(mode="json") if before else None,
        after=after.model_dump(mode="json") if after else None,
    )
    return after  # type: ignore[return-value]


async def _year(session: SessionDep, year: int) -> YearPublic | None:
    known = await session.get(CalendarYear, year, populate_existing=True)
    if known is None:
        return None
    days = (
        await session.execute(select(CalendarDay.day, CalendarDay.kind).where(CalendarDay.year == year))
    ).all()
    return YearPublic(
        year=year,
        holidays=sorted(d for d, k in days if k == "holiday"),
        workdays=sorted(d for d, k in days if k == "workday"),
        source=known.source,
    )


@calendars.get("/add-working-days", response_model=WorkingDay)
async def add_working_days(
    start: Day,
    days: Annotated[int, Query(ge=-366, le=366)],
    session: SessionDep,
    principal: Reader,
) -> WorkingDay:
    """The date `days` working days after `start` (before it if negative; 0: start or the next one)."""
    cal = await calendar.load(session, range(start.year - 1, start.year + 2))
    result = cal.add_working_days(start, days)
    return WorkingDay(date=result.date, complete=result.complete)


@calendars.get("/{year:int}", response_model=YearPublic)
async def get_year(
    year: Annotated[int, Path(ge=EARLIEST.year, le=LATEST.year)], session: SessionDep, principal: Reader
) -> YearPublic:
    """A year's holidays and make-up working days (404 when the year is not loaded)."""
    found = await _year(session, year)
    if found is None:
        raise NotFound(f"No calendar is loaded for {year}; load it with PUT /api/v1/calendar/{year}.")
    return found
