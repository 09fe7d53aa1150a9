"""Redis flushed in the middle of a quarter costs nothing but delay: `duban run` on a database and
a Redis of its own, a county's six weeks of sweeps (September–October 2018, through the
National Day week) issuing and closing notices, and Redis emptied (FLUSHALL: every queued job
lost) halfway through and again while the last events are in flight. Afterwards every
`notice.issued` and `notice.closed` event reached the county's webhook exactly once, signed, and
the notices are those of the same sweeps run with Redis never touched."""

import asyncio
import hashlib
import hmac
import json
import uuid
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import asyncpg
import httpx
import pytest

from services.notifier.sweep import sweep
from shared.clock import OFFICE_TZ
from shared.db import create_engine, plain_url, session_factory
from shared.models import Project
from shared.settings import ApiSettings
from tests.e2e.conftest import Spawn, operator_headers, own_database, wait_ready
from tests.faults.conftest import PrivateRedis, redis_ready
from tests.helpers import eventually, free_port, receiving

pytestmark = pytest.mark.e2e
SECRET = "county-notice-webhook-secret"
PROJECTS = 4


async def _flush(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"FLUSHALL\r\n")
    await writer.drain()
    assert (await reader.readline()).startswith(b"+OK")
    writer.close()


async def _projects(database_url: str, program: str, unit: str) -> None:
    """PROJECTS approved projects of the county, none ever reported on."""
    engine = create_engine(ApiSettings(database_url=database_url, redis_url="redis://127.0.0.1:6379/0"))
    try:
        async with session_factory(engine)() as s:
            for i in range(PROJECTS):
                s.add(
                    Project(
                        program_id=uuid.UUID(program),
                        code=f"R-{i:03d}",
                        name=f"项目{i}",
                        category="现代产业",
                        region_unit_id=uuid.UUID(unit),
                        owner_unit_id=uuid.UUID(unit),
                        responsible_unit_id=uuid.UUID(unit),
                        leader={"name": "张三", "title": "副县长"},
                        construction="new",
                        stage="construction",
                        status="approved",
                        total_investment=Decimal(1000),
                        annual_plan=Decimal(600),
                        start_date=date(2018, 1, 1),
                        end_date=date(2019, 12, 31),
                        created_by="test",
                    )
                )
            await s.commit()
    finally:
        await engine.dispose()


async def _replay(database_url: str, first: date, last: date) -> None:
    """Sweeps as of 09:00 each day, as `duban notifier sweep --as-of` does."""
    engine = create_engine(ApiSettings(database_url=database_url, redis_url="redis://127.0.0.1:6379/0"))
    try:
        sessions = session_factory(engine)
        day = first
        while day <= last:
            await sweep(sessions, datetime.combine(day, time(9), OFFICE_TZ))
            day += timedelta(days=1)
    finally:
        await engine.dispose()


async def _events(database_url: str) -> Counter[tuple[str, str]]:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        rows = await conn.fetch("SELECT payload FROM outbox WHERE job = 'event'")
    finally:
        await conn.close()
    return Counter((p["event"], p["subject_id"]) for p in (json.loads(r["payload"]) for r in rows))


async def _notices(database_url: str) -> set[tuple[str, str, int, str, str]]:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        rows = await conn.fetch(
            "SELECT p.code, n.period, n.level, n.kind, n.state "
            "FROM notice n JOIN project p ON p.id = n.subject_id"
        )
    finally:
        await conn.close()
    return {tuple(r) for r in rows}  # type: ignore[misc]


async def test_redis_flushed_mid_quarter_costs_nothing_but_delay(
    spawn: Spawn, base_env: dict[str, str], private_redis: PrivateRedis
) -> None:
    await redis_ready(private_redis.port)
    async with own_database(base_env, "flushed") as env, own_database(base_env, "untouched") as clean:
        env = {
            **env,
            "DUBAN_REDIS_URL": f"redis://127.0.0.1:{private_redis.port}/0",
            "DUBAN_DEV_STACK": "external",
            "DUBAN_RECONCILE_INTERVAL_SECONDS": "2",
            "DUBAN_OUTBOX_REDELIVER_SECONDS": "5",
            "DUBAN_SWEEP_INTERVAL_SECONDS": "3600",
        }  # what Redis lost comes back within 5 s; fmt: skip
        port = free_port()
        system = spawn("run", "--port", str(port), env=env, log="flushed")
        base_url = f"http://127.0.0.1:{port}"
        await wait_ready(base_url, system)
        admin = await operator_headers(base_url, env)
        async with (
            receiving() as county,
            httpx.AsyncClient(base_url=base_url, timeout=15, headers=admin) as c,
        ):
            me = (await c.get("/api/v1/me")).json()
            unit = await c.post("/api/v1/units", json={"code": "LC", "name": "栾川县", "kind": "government"})
            program = await c.post(
                "/api/v1/programs",
                json={"code": "BC", "name": "重点项目 2018", "year": 2018, "office_unit_id": me["unit_id"]},
            )
            hook = await c.post(
                "/api/v1/webhooks",
                json={"url": county.url, "events": ["notice.issued", "notice.closed"], "secret": SECRET},
            )
            assert unit.status_code == program.status_code == hook.status_code == 201
            await _projects(env["DUBAN_DATABASE_URL"], program.json()["id"], unit.json()["id"])
            await _replay(env["DUBAN_DATABASE_URL"], date(2018, 9, 14), date(2018, 9, 30))
            await _flush(private_redis.port)  # mid-quarter: whatever was queued is gone
            await _replay(env["DUBAN_DATABASE_URL"], date(2018, 10, 1), date(2018, 10, 31))
            await _flush(private_redis.port)  # and again, with the last events in flight
            expected = await _events(env["DUBAN_DATABASE_URL"])
            assert sum(expected.values()) >= PROJECTS * 5 and set(expected.values()) == {1}

            async def all_arrived() -> bool | None:
                return len(county.requests) >= len(expected) or None

            try:
                await eventually(all_arrived, within=60, every=0.5)
            except AssertionError:
                raise AssertionError(
                    await _where_they_are(env["DUBAN_DATABASE_URL"], len(county.requests))
                ) from None
            await asyncio.sleep(2)  # a second delivery, were there one, would have come by now
            for headers, body in county.requests:
                signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                assert headers["x-duban-signature"] == signature
            got = Counter(
                (json.loads(b)["event"], json.loads(b)["subject"]["id"]) for _, b in county.requests
            )
            assert got == expected
            assert system.poll() is None
        # the same county swept with Redis never touched issues the same notices
        await _projects_like(clean, env)
        await _replay(clean["DUBAN_DATABASE_URL"], date(2018, 9, 14), date(2018, 10, 31))
        assert await _notices(clean["DUBAN_DATABASE_URL"]) == await _notices(env["DUBAN_DATABASE_URL"])


async def _projects_like(clean: dict[str, str], flushed: dict[str, str]) -> None:
    """Copy the flushed system's units and program into the clean database, then its projects."""
    source = await asyncpg.connect(plain_url(flushed["DUBAN_DATABASE_URL"]))
    target = await asyncpg.connect(plain_url(clean["DUBAN_DATABASE_URL"]))
    try:
        for table in ("unit", "program"):
            rows = await source.fetch(f"SELECT * FROM {table} ORDER BY 1")
            columns = list(rows[0].keys())
            await target.copy_records_to_table(table, records=[tuple(r) for r in rows], columns=columns)
        program, unit = await source.fetchrow(
            "SELECT p.id::text, u.id::text FROM program p, unit u WHERE u.code = 'LC'"
        )
    finally:
        await source.close()
        await target.close()
    await _projects(clean["DUBAN_DATABASE_URL"], program, unit)


async def _where_they_are(database_url: str, received: int) -> str:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        outbox = await conn.fetch(
            "SELECT o.sent_at IS NOT NULL AS sent, i.message_id IS NOT NULL AS applied, o.attempts, count(*) "
            "FROM outbox o LEFT JOIN notifier_inbox i ON i.message_id = o.id "
            "WHERE o.job = 'event' GROUP BY 1, 2, 3"
        )
        deliveries = await conn.fetch("SELECT state, attempts, count(*) FROM webhook_delivery GROUP BY 1, 2")
    finally:
        await conn.close()
    return (
        f"{received} received; outbox (sent, applied, attempts, n): {[tuple(r) for r in outbox]}; "
        f"deliveries (state, attempts, n): {[tuple(r) for r in deliveries]}"
    )
