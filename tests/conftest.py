"""Fixtures on real PostgreSQL and Redis.

Each test session creates, migrates and drops its own database and uses its own queue
prefix, so concurrent runs never collide. API tests run inside one transaction that is
rolled back at the end of the test.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from httpx import ASGITransport, AsyncClient
from redis.asyncio import Redis
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from services.api.app import create_app
from services.api.migrate import upgrade
from shared.db import create_engine, plain_url
from shared.settings import ApiSettings, NotifierSettings, RankerSettings
from tests.helpers import in_beijing_time, in_chinese

pytest_plugins = ["tests.world"]  # the world of units and programs, for every test package

ADMIN_URL = os.environ.get("DUBAN_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("DUBAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN_ID = uuid.uuid4().hex[:10]


async def admin(sql: str) -> None:
    """Run one statement on the server's maintenance database."""
    conn = await asyncpg.connect(plain_url(ADMIN_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(name: str) -> str:
    await admin(f'CREATE DATABASE "{name}"')
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


async def drop_database(name: str) -> None:
    await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    name = f"duban_test_{RUN_ID}"
    url = await create_database(name)
    await asyncio.to_thread(upgrade, url)
    yield url
    await drop_database(name)


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    """A database of its own with no schema, for a test that runs the migrations itself."""
    name = f"duban_test_{RUN_ID}_{uuid.uuid4().hex[:6]}"
    url = await create_database(name)
    yield url
    await drop_database(name)


@pytest.fixture(scope="session")
def queue_prefix() -> str:
    return f"duban-test-{RUN_ID}"


@pytest.fixture(scope="session")
def base_env(
    database_url: str, queue_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The environment a real process of this test session runs with."""
    return {
        "DUBAN_FILE_STORE": str(tmp_path_factory.mktemp("files")),
        "DUBAN_DATABASE_URL": database_url,
        "DUBAN_REDIS_URL": REDIS_URL,
        "DUBAN_QUEUE_PREFIX": queue_prefix,
        "DUBAN_ENVIRONMENT": "test",
    }


@pytest.fixture(scope="session")
def api_settings(base_env: dict[str, str]) -> ApiSettings:
    return ApiSettings(**{k.removeprefix("DUBAN_").lower(): v for k, v in base_env.items()})


@pytest.fixture(scope="session")
def notifier_settings(base_env: dict[str, str]) -> NotifierSettings:
    return NotifierSettings(**{k.removeprefix("DUBAN_").lower(): v for k, v in base_env.items()})


@pytest.fixture(scope="session")
def ranker_settings(base_env: dict[str, str]) -> RankerSettings:
    return RankerSettings(**{k.removeprefix("DUBAN_").lower(): v for k, v in base_env.items()})


@pytest.fixture(scope="session")
async def redis(queue_prefix: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    keys = [k async for k in client.scan_iter(f"{queue_prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture(scope="session")
async def engine(api_settings: ApiSettings) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(api_settings)
    yield eng
    await eng.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        yield conn
        if outer.is_active:
            await outer.rollback()


@pytest.fixture
def sessions(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions whose commits become savepoints of the test's transaction."""
    return async_sessionmaker(
        bind=connection,
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
    )


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as s:
        yield s


@pytest.fixture
async def app(api_settings: ApiSettings, redis: Redis) -> AsyncIterator[object]:
    """The api with its lifespan (engine, Redis pool, relay) for one test."""
    application = create_app(api_settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: object, sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncClient]:
    """An HTTP client for the api, its requests inside the test's transaction."""
    committed = app.state.sessions  # type: ignore[attr-defined]
    app.state.sessions = sessions  # type: ignore[attr-defined]
    try:
        async with AsyncClient(
            transport=ASGITransport(app=app),  # type: ignore[arg-type]
            base_url="http://duban.test",
            event_hooks={"response": [in_beijing_time, in_chinese]},
        ) as c:
            yield c
    finally:
        app.state.sessions = committed  # type: ignore[attr-defined]
