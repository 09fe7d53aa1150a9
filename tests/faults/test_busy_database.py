"""A database with no connection to give ("too many clients already", here a role whose
connection limit is reached) is a transient fault: the api answers 503 with Retry-After, a
worker's job is retried with backoff, never failed for good."""

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq import Retry
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.api.app import create_app
from shared.db import PoolTooLarge, create_engine, session_factory
from shared.queues import Target
from shared.settings import ApiSettings
from shared.worker import job
from tests.conftest import admin
from tests.helpers import running


@pytest.fixture
async def crowded(api_settings: ApiSettings) -> AsyncIterator[ApiSettings]:
    """The api's settings, signing in to PostgreSQL as a role whose every connection is taken."""
    role = f"duban_crowded_{uuid.uuid4().hex[:8]}"
    await admin(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
    url = make_url(str(api_settings.database_url)).set(username=role)
    try:
        yield api_settings.model_copy(update={"database_url": url.render_as_string(hide_password=False)})
    finally:
        await admin(f'DROP ROLE "{role}"')


async def test_sign_in_is_503_with_retry_after_when_the_database_has_no_connection_to_give(
    crowded: ApiSettings,
) -> None:
    grant = {"grant_type": "password", "username": "anyone", "password": "Whatever-2026"}
    async with running(crowded) as client:
        full = await client.post("/api/v1/auth/token", data=grant)
        units = await client.get("/api/v1/public/programs/00000000-0000-4000-8000-000000000000/projects")
    for answer in (full, units):
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "1" and "busy" in answer.json()["detail"]


async def test_a_command_that_finds_the_database_full_says_so_in_a_line(crowded: ApiSettings) -> None:
    """An operator running `duban notifier sweep` at 3 a.m. reads one line, not a traceback, and
    the exit status says to try again (75, EX_TEMPFAIL)."""
    env = {
        **os.environ,
        "DUBAN_DATABASE_URL": str(crowded.database_url),
        "DUBAN_REDIS_URL": str(crowded.redis_url),
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.cli.main", "notifier", "sweep"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 75, done.stderr
    assert "Traceback" not in done.stderr and "╭" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("duban: the database has no connection to give"), line


async def test_a_job_that_finds_the_database_full_is_retried(crowded: ApiSettings) -> None:
    engine = create_engine(crowded)

    async def count_units(ctx: dict[str, Any]) -> int:
        async with ctx["sessions"]() as s:
            return int(await s.scalar(text("SELECT count(*) FROM unit")) or 0)

    try:
        with pytest.raises(Retry):
            await job(Target.NOTIFIER, count_units)({"sessions": session_factory(engine), "job_try": 1})
    finally:
        await engine.dispose()


async def test_a_pool_the_server_could_never_hold_stops_the_api_at_start(api_settings: ApiSettings) -> None:
    """max_connections is 100 by default: an api configured for 200 pooled connections refuses to start,
    naming both numbers, instead of answering 503s under load."""
    app = create_app(api_settings.model_copy(update={"db_pool_size": 200}))
    with pytest.raises(
        PoolTooLarge, match=r"DUBAN_DB_POOL_SIZE=200 but the server takes at most \d+ connections"
    ):
        async with app.router.lifespan_context(app):
            pass
