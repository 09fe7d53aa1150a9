"""The database layer: driver statements inside the session's transaction; pooled connections
checked after sitting idle."""

import asyncio
import uuid

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine, driver_connection, session_factory
from shared.models import CalendarYear
from shared.settings import ApiSettings

_ADD_YEAR = "INSERT INTO calendar_year (year, source, updated_by) VALUES (2098, 'test', 'test')"


async def _years(engine: AsyncEngine) -> set[int]:
    async with session_factory(engine)() as s:
        return set(await s.scalars(select(CalendarYear.year).where(CalendarYear.year.in_((2098, 2099)))))


async def test_driver_writes_roll_back_and_commit_with_the_session(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            await (await driver_connection(session)).execute(_ADD_YEAR)
            await session.rollback()
        assert await _years(engine) == set()  # rolled back with the session: it was inside its transaction

        async with sessions() as session:
            session.add(CalendarYear(year=2099, source="test", updated_by="test"))
            await session.flush()  # the session's own write first, then the driver's, one transaction
            await (await driver_connection(session)).execute(_ADD_YEAR)
            await session.commit()
        assert await _years(engine) == {2098, 2099}
    finally:
        async with sessions() as session:
            await session.execute(delete(CalendarYear).where(CalendarYear.year.in_((2098, 2099))))
            await session.commit()


async def test_a_lone_driver_statement_commits_on_its_own_unless_the_session_began(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            await session.execute(select(CalendarYear.year).limit(1))  # the session's transaction began
            await (await driver_connection(session, begin=False)).execute(_ADD_YEAR)
            await session.rollback()
        assert await _years(engine) == set()  # joined the session's transaction, rolled back with it

        async with sessions() as session:
            await (await driver_connection(session, begin=False)).execute(_ADD_YEAR)
            await session.rollback()  # nothing to roll back: the statement was its own transaction
        assert await _years(engine) == {2098}
    finally:
        async with sessions() as session:
            await session.execute(delete(CalendarYear).where(CalendarYear.year.in_((2098, 2099))))
            await session.commit()


async def _drop_connections(engine: AsyncEngine, application_name: str) -> int:
    """What a server restart or failover does to a pool: every connection of it is cut."""
    async with engine.connect() as conn:
        cut = await conn.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name AND pid <> pg_backend_pid()"
            ),
            {"name": application_name},
        )
    return int(cut or 0)


async def test_a_connection_dropped_while_idle_is_replaced_before_a_request_gets_it(
    api_settings: ApiSettings, engine: AsyncEngine
) -> None:
    prefix = f"ping-{uuid.uuid4().hex[:8]}"
    settings = api_settings.model_copy(update={"queue_prefix": prefix, "db_ping_idle_seconds": 0.2})
    pooled = create_engine(settings, pool_size=2)
    try:
        async with pooled.connect() as conn:
            assert await conn.scalar(text("SELECT 1")) == 1  # one connection now waits in the pool
        assert await _drop_connections(engine, f"duban-{prefix}") == 1
        await asyncio.sleep(0.3)  # idle past the check's threshold
        async with pooled.connect() as conn:
            assert await conn.scalar(text("SELECT 2")) == 2  # checked, found dead, replaced: no error

        # Cut while in steady use (no check): the statement on it fails, and every connection the
        # pool opened before then is replaced, so the next request works.
        async with pooled.connect() as a, pooled.connect() as b:
            await a.scalar(text("SELECT 1"))
            await b.scalar(text("SELECT 1"))
        assert await _drop_connections(engine, f"duban-{prefix}") == 2
        with pytest.raises(DBAPIError) as failed:
            async with pooled.connect() as conn:
                await conn.scalar(text("SELECT 3"))
        assert failed.value.connection_invalidated
        for _ in range(3):
            async with pooled.connect() as conn:
                assert await conn.scalar(text("SELECT 4")) == 4
    finally:
        await pooled.dispose()
