"""The working-day calendar: each year's holidays and make-up working days (调休)."""

from typing import Annotated

from fastapi import Path, Query

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.calendar import service
from services.api.calendar.schemas import WorkingDay, YearIn, YearPublic
from services.api.routing import SessionDep, router
from services.api.validation import also_checked
from shared import calendar
from shared.dates import EARLIEST, LATEST, Day
from shared.errors import NotFound
from shared.i18n import tr

calendars = router(prefix="/calendar", tags=["calendar"])
Reader = Annotated[Principal, authorize(Action.CALENDAR_READ)]


@calendars.put("/{year:int}", response_model=YearPublic)
@also_checked(YearIn, service.year_checks)
async def put_year(
    year: Annotated[int, Path(ge=EARLIEST.year, le=LATEST.year)],
    data: YearIn,
    session: SessionDep,
    principal: Annotated[Principal, authorize(Action.CALENDAR_WRITE)],
) -> YearPublic:
    """Load (or replace) a year's schedule as the State Council publishes it."""
    return await service.put_year(session, year=year, data=data, principal=principal)


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
    found = await service.get_year(session, year)
    if found is None:
        raise NotFound(
            tr("No calendar is loaded for {year}; load it with PUT /api/v1/calendar/{year}.", year=year)
        )

    return found
