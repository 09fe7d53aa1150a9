"""Loading a year's holidays and make-up working days, and reading them back."""

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.principal import Principal
from services.api.calendar.schemas import YearIn, YearPublic
from shared import audit
from shared.errors import invalid
from shared.i18n import tr
from shared.models import CalendarDay, CalendarYear


def _year_problems(year: int, fields: dict[str, Any]) -> list[tuple[list[str | int], str]]:
    """Days outside the year, and workdays (调休) that are weekdays already, over the lists given."""
    holidays, workdays = fields.get("holidays"), fields.get("workdays")
    problems: list[tuple[list[str | int], str]] = [
        ([name, i], tr("{day} is not in {year}", day=d, year=year))
        for name, days in (("holidays", holidays or []), ("workdays", workdays or []))
        for i, d in enumerate(days)
        if d.year != year
    ]
    return problems + [
        (["workdays", i], tr("{day} is a weekday already; list only weekend days worked (调休)", day=d))
        for i, d in enumerate(workdays or [])
        if d.weekday() < 5
    ]


async def year_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> list[tuple[list[str | int], str]]:
    """`_year_problems` for a schedule whose other list failed the schema."""
    year = path.get("year")
    return _year_problems(year, fields) if isinstance(year, int) else []


async def put_year(session: AsyncSession, *, year: int, data: YearIn, principal: Principal) -> YearPublic:
    """Replace the year's schedule (every day must lie in it; workdays are weekend days), audited."""
    if problems := _year_problems(year, dict(data)):
        raise invalid(problems)
    before = await get_year(session, year)
    await session.execute(delete(CalendarDay).where(col(CalendarDay.year) == year))
    await session.execute(delete(CalendarYear).where(col(CalendarYear.year) == year))
    await session.execute(insert(CalendarYear).values(year=year, source="office", updated_by=principal.key))
    rows = [{"day": d, "year": year, "kind": "holiday"} for d in sorted(set(data.holidays))]
    rows += [{"day": d, "year": year, "kind": "workday"} for d in sorted(set(data.workdays))]
    if rows:
        await session.execute(insert(CalendarDay), rows)
    after = await get_year(session, year)
    await audit.record(
        session,
        actor=principal.actor,
        action="calendar.put",
        entity="calendar",
        entity_id=year,
        before=before.model_dump(mode="json") if before else None,
        after=after.model_dump(mode="json") if after else None,
    )
    assert after is not None
    return after


async def get_year(session: AsyncSession, year: int) -> YearPublic | None:
    known = await session.get(CalendarYear, year, populate_existing=True)
    if known is None:
        return None
    days = (
        await session.execute(
            select(col(CalendarDay.day), col(CalendarDay.kind)).where(col(CalendarDay.year) == year)
        )
    ).all()
    return YearPublic(
        year=year,
        holidays=sorted(d for d, k in days if k == "holiday"),
        workdays=sorted(d for d, k in days if k == "workday"),
        source=known.source,
    )
