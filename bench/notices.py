"""`BENCH_ONLY=notices make bench`: the notifier's two benchmarks, on a database of their own.

1. The sweep on a province-sized program beside its bare SQL floor (bench/sweep.py).
2. Event → notice latency at a trickle, through the real api and notifier processes: a report
   filed for a period a chain chases, until the chain is closed (read in the database); an office
   `POST /notices`, until `GET /notices/{id}` finds it in the inbox. One at a time,
   BENCH_LATENCY_EVENTS (200) of each, half the filings at a trickle and half while a backlog of
   BENCH_BACKLOG (10,000) `notice.issued` events to a subscribed webhook is being worked off
   (the bulk lane: shared/worker.py); p50 and p99 of the wall time from the request's start.
"""

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import asyncpg
import httpx

from bench import sweep as sweep_bench
from services.notifier.sweep import sweep
from shared.clock import OFFICE_TZ
from shared.db import create_engine, plain_url, session_factory
from shared.program_settings import ProgramSettings
from shared.settings import ApiSettings

EVENTS = int(os.environ.get("BENCH_LATENCY_EVENTS", "200"))
BACKLOG = int(os.environ.get("BENCH_BACKLOG", "10000"))


class _Hook(BaseHTTPRequestHandler):
    """The subscriber: takes each delivery as a real endpoint would, at once."""

    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Hook.received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _county(database_url: str, office_code: str) -> tuple[str, str, list[str]]:
    """A county under the bench office, a 2018 program and EVENTS approved projects, none reported."""
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        office, path = await conn.fetchrow("SELECT id, path FROM unit WHERE code = $1", office_code)
        county, program = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO unit (id, code, name, kind, parent_id, path, version) "
            "VALUES ($1, 'LAT-C', '延迟县', 'government', $2, $3, 1)",
            county,
            office,
            f"{path}{county}/",
        )
        await conn.execute(
            "INSERT INTO program (id, code, name, year, office_unit_id, categories, settings, version) "
            "VALUES ($1, 'LATENCY', '延迟基准', 2018, $2, '{}', $3, 1)",
            program,
            office,
            json.dumps(ProgramSettings().model_dump(mode="json")),
        )
        leader = json.dumps({"name": "张三", "title": "副县长"})
        projects = [uuid.uuid4() for _ in range(EVENTS)]
        await conn.copy_records_to_table(
            "project",
            columns=sweep_bench.PROJECT_COLUMNS,
            records=[
                (
                    p,
                    program,
                    f"L{i:05d}",
                    f"延迟项目{i:05d}",
                    "公共服务",
                    county,
                    county,
                    county,
                    leader,
                    "[]",
                    "new",
                    "construction",
                    "approved",
                    Decimal(1000),
                    Decimal(600),
                    datetime(2018, 1, 1).date(),
                    datetime(2019, 12, 31).date(),
                    "{}",
                    1,
                    "bench",
                )
                for i, p in enumerate(projects)
            ],
        )
        return str(program), str(county), [str(p) for p in projects]
    finally:
        await conn.close()


async def _chased(database_url: str) -> None:
    """The sweep of 26 September 2018: a chain (and its urging notice) for every project's September."""
    engine = create_engine(ApiSettings(database_url=database_url, redis_url="redis://127.0.0.1:6379/0"))
    try:
        await sweep(session_factory(engine), datetime(2018, 9, 26, 9, tzinfo=OFFICE_TZ))
    finally:
        await engine.dispose()


async def _until(done: Callable[[], Awaitable[object]]) -> None:
    while not await done():  # noqa: ASYNC110 - polling what a client would see
        await asyncio.sleep(0.001)


async def _found(c: httpx.AsyncClient, url: str) -> bool:
    return (await c.get(url)).status_code == 200


async def _queued(queue: str) -> int:
    from redis.asyncio import Redis

    from bench.__main__ import REDIS_URL

    async with Redis.from_url(REDIS_URL) as r:
        return int(await r.zcard(queue))


async def _backlog(c: httpx.AsyncClient, conn: asyncpg.Connection, queue: str) -> int:
    """A subscriber to notice.issued, then BACKLOG announcements (the sweep's, again and again):
    the api relays them to the notifier's bulk queue; returns how many are queued there."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    r = await c.post(
        "/api/v1/webhooks",
        json={
            "url": f"http://127.0.0.1:{server.server_port}/hook",
            "events": ["notice.issued"],
            "secret": "bench-webhook-secret-0123456789",
        },
    )
    assert r.status_code == 201, r.text
    await conn.execute(
        "WITH issued AS (SELECT row_number() OVER (ORDER BY id) AS rn, * FROM notice), "
        "total AS (SELECT count(*) AS c FROM issued) "
        "INSERT INTO outbox (id, producer, target, job, payload, attempts) "
        "SELECT gen_random_uuid(), 'notifier', 'notifier', 'event', jsonb_build_object("
        "'event', 'notice.issued', 'subject_type', 'notice', 'subject_id', i.id, 'occurred_at', now(), "
        "'data', jsonb_build_object('kind', i.kind, 'level', i.level, 'due_date', i.due_date, "
        "'recipient_unit_id', i.recipient_unit_id, 'matter', jsonb_build_object('type', i.subject_type, "
        "'id', i.subject_id, 'period', '2018-09'))), 0 "
        "FROM total, generate_series(1, $1) AS n JOIN issued i ON true "
        "WHERE i.rn = 1 + n % (SELECT c FROM total)",
        BACKLOG,
    )
    sent = "SELECT count(*) = 0 FROM outbox WHERE sent_at IS NULL AND job = 'event'"
    await asyncio.wait_for(_until(lambda: conn.fetchval(sent)), 120)  # the api's relay, every 2 s
    return await _queued(queue)


async def _latencies(
    api: str, auth: dict[str, str], database_url: str, redis_queue: str
) -> dict[str, list[float]]:
    program, county, projects = await _county(database_url, "BENCH")
    await _chased(database_url)
    conn = await asyncpg.connect(plain_url(database_url))
    # The sweep's own notice.issued events go through the notifier first: a filing timed behind
    # that backlog would measure the backlog.
    drained = (
        "SELECT NOT EXISTS (SELECT 1 FROM outbox o WHERE o.target = 'notifier' "
        "AND NOT EXISTS (SELECT 1 FROM notifier_inbox i WHERE i.message_id = o.id))"
    )
    await asyncio.wait_for(_until(lambda: conn.fetchval(drained)), 120)
    backlog_key = f"report filed → chain closed, {BACKLOG} announcements queued"
    out: dict[str, list[float]] = {
        "report filed → chain closed": [],
        "  of which the filing answered": [],  # the floor: the api's own answer to the filing
        "  of which api → outbox relayed": [],  # from the rows' own clocks, after the fact
        "  of which relayed → job began": [],
        backlog_key: [],
        "POST /notices → in the inbox": [],
    }
    half = max(1, len(projects) // 2)
    try:
        async with httpx.AsyncClient(base_url=api, headers=auth, timeout=10) as c:
            for n, project in enumerate(projects):
                if n == half:
                    waiting = await _backlog(c, conn, redis_queue)
                began = time.perf_counter()
                r = await c.post(
                    f"/api/v1/projects/{project}/reports",
                    json={"period": "2018-09", "investment_month": "10", "progress_percent": "20"},
                )
                assert r.status_code == 201, r.text
                if n < half:
                    out["  of which the filing answered"].append((time.perf_counter() - began) * 1000)
                closed = (
                    "SELECT state = 'closed' FROM notice_chain WHERE subject_id = $1 AND period = '2018-09'"
                )
                await _until(lambda q=closed, p=uuid.UUID(project): conn.fetchval(q, p))
                key = "report filed → chain closed" if n < half else backlog_key
                out[key].append((time.perf_counter() - began) * 1000)
            left = await _queued(redis_queue)
            print(
                f"\nbacklog: {waiting} announcements queued when the filings began, {left} still queued "
                f"after the last; the subscriber got {_Hook.received} deliveries by then"
            )
            body = {
                "program_id": program,
                "kind": "urging",
                "recipient_unit_id": county,
                "subject": {"type": "instruction"},
                "requirements": "落实领导批示",
                "due_in_working_days": 5,
            }
            for _ in range(EVENTS):
                began = time.perf_counter()
                r = await c.post("/api/v1/notices", json=body)
                assert r.status_code == 202, r.text
                url = f"/api/v1/notices/{r.json()['id']}"
                await _until(lambda u=url: _found(c, u))
                out["POST /notices → in the inbox"].append((time.perf_counter() - began) * 1000)
        for relay, queue in await _stages(conn, program):
            out["  of which api → outbox relayed"].append(relay)
            out["  of which relayed → job began"].append(queue)
    finally:
        await conn.close()
    return out


async def _stages(conn: asyncpg.Connection, program: str) -> list[tuple[float, float]]:
    """Where each filing's time went, from the rows' own clocks (ms): api transaction → outbox relayed
    → notifier job began."""
    rows = await conn.fetch(
        "SELECT extract(epoch FROM o.sent_at - o.created_at) * 1000 AS relay, "
        "extract(epoch FROM i.processed_at - o.sent_at) * 1000 AS queue "
        "FROM notice_chain c "
        "JOIN outbox o ON o.job = 'report_filed' AND (o.payload->>'subject_id')::uuid = c.subject_id "
        "JOIN notifier_inbox i ON i.message_id = o.id "
        "WHERE c.program_id = $1 AND c.period = '2018-09'",
        uuid.UUID(program),
    )
    return [(float(r["relay"]), float(r["queue"])) for r in rows]


def _notifier_answers(api: str, auth: dict[str, str]) -> None:
    """Wait until a ping has gone through the notifier: its first job is not timed as an event's."""
    ping = httpx.post(f"{api}/api/v1/pings", json={"targets": ["notifier"]}, headers=auth).json()["id"]
    deadline = time.monotonic() + 60
    while not httpx.get(f"{api}/api/v1/pings/{ping}", headers=auth).json()["complete"]:
        if time.monotonic() > deadline:
            raise SystemExit("bench: the notifier never answered a ping")
        time.sleep(0.1)


def run(env: dict[str, str], database_url: str, api_port: int) -> None:
    """Both benchmarks (BENCH_ONLY=latency: the latency alone); `env` is the bench's environment
    for this database."""
    if os.environ.get("BENCH_ONLY") != "latency":
        asyncio.run(sweep_bench.run(database_url))
    notifier = subprocess.Popen([sys.executable, "-m", "services.cli.main", "serve", "notifier"], env=env)
    api_proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "serve", "api", "--port", str(api_port)], env=env
    )
    api = f"http://127.0.0.1:{api_port}"
    try:
        from bench.stack import signed_in, wait

        wait(f"{api}/readyz", api_proc)
        auth = signed_in(api, env)
        _notifier_answers(api, auth)
        bulk_queue = f"{env['DUBAN_QUEUE_PREFIX']}:queue:notifier:bulk"
        measured = asyncio.run(_latencies(api, auth, database_url, bulk_queue))
    finally:
        for proc in (api_proc, notifier):
            proc.terminate()
            proc.wait(30)
    print(
        f"\nevent → notice latency at a trickle ({EVENTS} each, one at a time; "
        "targets p50 ≤ 100 ms, p99 ≤ 300 ms, and p99 ≤ 300 ms with the backlog)"
    )
    for name, ms in measured.items():
        print(f"{name:32} p50 {_percentile(ms, 0.5):7.1f} ms   p99 {_percentile(ms, 0.99):7.1f} ms")


def main() -> None:
    """Run on a fresh database of its own (called by bench/__main__ for BENCH_ONLY=notices)."""
    from bench.__main__ import ADMIN_URL, REDIS_URL
    from bench.stack import free_port, fresh_database

    with fresh_database(ADMIN_URL, "notices") as db_url:
        env = {
            **os.environ,
            "DUBAN_DATABASE_URL": db_url,
            "DUBAN_REDIS_URL": REDIS_URL,
            "DUBAN_QUEUE_PREFIX": f"duban-bench-{uuid.uuid4().hex[:8]}",
            "DUBAN_ENVIRONMENT": "test",
            "DUBAN_LOG_LEVEL": "WARNING",
            "DUBAN_SWEEP_INTERVAL_SECONDS": "3600",
        }
        run(env, db_url, free_port())


__all__ = ["main", "run"]
