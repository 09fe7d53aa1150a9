"""A sweep SIGKILLed halfway and run again leaves the same notices as a sweep never interrupted:
none missing, none doubled (the sweep is one transaction, its keys unique).

"Halfway" is made certain rather than hoped for: the test holds the outbox table locked, so the
sweep, having written its first notices, waits to write their events (the county's system takes
notice.issued); it is killed there."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from decimal import Decimal

import asyncpg
import pytest

from shared.db import create_engine, plain_url, session_factory
from shared.models import Program, Project, Unit, Webhook
from shared.program_settings import ProgramSettings
from shared.settings import ApiSettings
from tests.e2e.conftest import own_database

pytestmark = pytest.mark.e2e
PROJECTS = 40
AS_OF = "2018-09-26"


async def _county(env: dict[str, str]) -> None:
    """An office, a county whose system takes notice.issued, and PROJECTS approved projects of
    2018, none ever reported on."""
    settings = ApiSettings(database_url=env["DUBAN_DATABASE_URL"], redis_url=env["DUBAN_REDIS_URL"])
    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as s:
            office, county = uuid.uuid4(), uuid.uuid4()
            s.add(Unit(id=office, code="OFF", name="督查室", kind="office", path=f"/{office}/"))
            s.add(Unit(id=county, code="LC", name="栾川县", kind="government", parent_id=office,
                       path=f"/{office}/{county}/"))  # fmt: skip
            s.add(Webhook(unit_id=county, url="https://lc.example.cn/hook", events=["notice.issued"],
                          secret_encrypted="-", created_by="test"))  # fmt: skip
            program = Program(code="BC", name="重点项目", year=2018, office_unit_id=office,
                              settings=ProgramSettings().model_dump(mode="json"))  # fmt: skip
            s.add(program)
            await s.flush()
            for i in range(PROJECTS):
                s.add(Project(
                    program_id=program.id, code=f"K-{i:04d}", name=f"项目{i}", category="现代产业",
                    region_unit_id=county, owner_unit_id=county, responsible_unit_id=county,
                    leader={"name": "张三", "title": "副县长"}, construction="new", stage="construction",
                    status="approved", total_investment=Decimal(1000), annual_plan=Decimal(600),
                    start_date=date(2018, 1, 1), end_date=date(2019, 12, 31), created_by="test",
                ))  # fmt: skip
            await s.commit()
    finally:
        await engine.dispose()


def _sweep(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "notifier", "sweep", "--as-of", AS_OF],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


async def _stuck_writing_events(conn: asyncpg.Connection, victim: subprocess.Popen[bytes]) -> int:
    """Wait until a sweep, its notices written, waits for the outbox lock; its backend's pid.
    (Asked outside the lock holder's transaction, which would see one frozen snapshot.)"""
    for _ in range(600):
        pid = await conn.fetchval(
            "SELECT pid FROM pg_locks WHERE NOT granted AND relation = CAST('outbox' AS regclass)"
        )
        if pid:
            return int(pid)
        assert victim.poll() is None, victim.communicate()[0]
        await asyncio.sleep(0.05)
    victim.kill()
    raise AssertionError(f"the sweep never reached its events: {victim.communicate()[0]!r}")


async def _gone(conn: asyncpg.Connection, pid: int) -> None:
    """PostgreSQL notices a killed client when it next writes to it: once the lock is free."""
    for _ in range(200):
        if not await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the killed sweep's transaction is still there")


async def _notices(env: dict[str, str]) -> set[tuple[str, str, int, str]]:
    conn = await asyncpg.connect(plain_url(env["DUBAN_DATABASE_URL"]))
    try:
        rows = await conn.fetch(
            "SELECT coalesce(p.code, u.code) AS code, n.period, n.level, n.kind FROM notice n "
            "LEFT JOIN project p ON p.id = n.subject_id LEFT JOIN unit u ON u.id = n.subject_id"
        )
    finally:
        await conn.close()
    return {(r["code"], r["period"], r["level"], r["kind"]) for r in rows}


async def test_a_sweep_killed_halfway_and_run_again_issues_what_a_clean_one_does(
    base_env: dict[str, str],
) -> None:
    async with (
        own_database(base_env, "sweep_clean") as clean,
        own_database(base_env, "sweep_killed") as killed,
    ):
        clean = {**os.environ, **clean}
        killed = {**os.environ, **killed}
        await _county(clean)
        await _county(killed)
        done = await asyncio.to_thread(_sweep(clean).communicate)
        said = json.loads(done[0].splitlines()[-1])
        assert said["issued"] >= PROJECTS and said["gathered"] == said["sent"] == 1, (
            said
        )  # the county's digest
        started = time.monotonic()
        holder = await asyncpg.connect(plain_url(killed["DUBAN_DATABASE_URL"]))
        watcher = await asyncpg.connect(plain_url(killed["DUBAN_DATABASE_URL"]))
        try:
            held = holder.transaction()
            await held.start()
            await holder.execute("LOCK TABLE outbox IN EXCLUSIVE MODE")
            victim = _sweep(killed)
            pid = await _stuck_writing_events(watcher, victim)
            wrote = await watcher.fetchval(
                "SELECT count(*) FROM pg_locks WHERE pid = $1 AND granted "
                "AND relation = CAST('notice' AS regclass) AND mode = 'RowExclusiveLock'",
                pid,
            )
            assert wrote, "the sweep should be stopped after writing notices, not before"
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            await held.rollback()
            await _gone(watcher, pid)
        finally:
            await holder.close()
            await watcher.close()
        assert await _notices(killed) == set()  # one transaction: all of it or nothing
        await asyncio.to_thread(_sweep(killed).communicate)
        again = await asyncio.to_thread(_sweep(killed).communicate)
        assert b'"issued": 0' in again[0], again[0]
        expected = await _notices(clean)
        assert len(expected) >= PROJECTS and await _notices(killed) == expected
        assert time.monotonic() - started < 300
