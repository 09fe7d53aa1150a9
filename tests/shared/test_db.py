"""Statements run straight on the driver belong to the session's transaction."""

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import Compiled, driver_connection, session_factory
from shared.models import CalendarYear

_ADD_YEAR = Compiled(
    CalendarYear.__table__.insert().values(year=2098, source="test", updated_by="test")  # type: ignore[attr-defined]
)


async def _years(engine: AsyncEngine) -> set[int]:
    async with session_factory(engine)() as s:
        return set(await s.scalars(select(CalendarYear.year).where(CalendarYear.year.in_((2098, 2099)))))


async def test_driver_writes_roll_back_and_commit_with_the_session(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            await _ADD_YEAR.execute(await driver_connection(session))
            await session.rollback()
        assert await _years(engine) == set()  # rolled back with the session: it was inside its transaction

        async with sessions() as session:
            session.add(CalendarYear(year=2099, source="test", updated_by="test"))
            await session.flush()  # the session's own write first, then the driver's, one transaction
            await _ADD_YEAR.execute(await driver_connection(session))
            await session.commit()
        assert await _years(engine) == {2098, 2099}
    finally:
        async with sessions() as session:
            await session.execute(delete(CalendarYear).where(CalendarYear.year.in_((2098, 2099))))
            await session.commit()
