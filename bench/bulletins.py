"""The monthly bulletin and the office overview (`BENCH_ONLY=bulletins`), as ratios to a floor
measured in the same run:

- the bulletin's JSON (GET …/bulletins/2018-05, computed) against a bare SQL aggregate of the same
  figures over asyncpg — each period's latest version summed to the month, by category, region and
  responsible unit (target: at most 3×);
- the bulletin's workbook (…/2018-05.xlsx; target: within 5 s);
- the office overview page at 10,000 projects, one request at a time (target: p99 within 300 ms),
  beside the same floor at that size.
"""

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx

from bench.library import CATEGORIES, PROJECT_COLUMNS, REPORT_COLUMNS
from bench.stack import free_port, fresh_database, signed_in, timed, wait
from shared.db import plain_url

BULLETIN_PROJECTS = int(os.environ.get("BENCH_BULLETIN_PROJECTS", "5000"))
OVERVIEW_PROJECTS = int(os.environ.get("BENCH_OVERVIEW_PROJECTS", "10000"))
REQUESTS = int(os.environ.get("BENCH_BULLETIN_REQUESTS", "30"))
ADMIN_URL = os.environ.get("DUBAN_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("DUBAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AS_OF = datetime(2018, 5, 26, tzinfo=UTC) - timedelta(hours=8)  # the bulletin's instant, Beijing midnight

FLOOR_SQL = """
WITH latest AS (
  SELECT DISTINCT ON (project_id, period) project_id, period, investment_month
  FROM project_report WHERE program_id = $1 AND submitted_at <= $2
  ORDER BY project_id, period, version DESC
), ytd AS (
  SELECT project_id, sum(investment_month) FILTER (WHERE period BETWEEN '2018-01' AND '2018-05') AS y
  FROM latest GROUP BY project_id
)
SELECT p.category, p.region_unit_id, p.responsible_unit_id, count(*), count(ytd.y),
       coalesce(sum(ytd.y), 0), sum(p.annual_plan)
FROM project p LEFT JOIN ytd ON ytd.project_id = p.id
WHERE p.program_id = $1 AND p.status = 'approved'
GROUP BY GROUPING SETS ((p.category), (p.region_unit_id), (p.responsible_unit_id), ())
"""


async def seed(database_url: str, office_code: str, code: str, projects: int) -> str:
    """A 2018 program of `projects` approved projects over 30 townships and 10 departments, January
    to May reported (most on time, some late, some missing)."""
    conn = await asyncpg.connect(database_url)
    try:
        office_id, office_path = await conn.fetchrow("SELECT id, path FROM unit WHERE code = $1", office_code)
        units = [(uuid.uuid4(), "government" if i < 30 else "department") for i in range(40)]
        await conn.copy_records_to_table(
            "unit",
            columns=["id", "code", "name", "kind", "parent_id", "path", "version"],
            records=[
                (u, f"{code}-U{i:03d}", f"单位{i:03d}", kind, office_id, f"{office_path}{u}/", 1)
                for i, (u, kind) in enumerate(units)
            ],
        )
        program_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO program (id, code, name, year, office_unit_id, categories, settings, version) "
            "VALUES ($1, $2, '通报基准', 2018, $3, $4, '{}', 1)",
            program_id,
            code,
            office_id,
            CATEGORIES,
        )
        rnd = random.Random(5)
        leader = json.dumps({"name": "张三", "title": "副县长"})
        project_rows, report_rows = [], []
        for i in range(projects):
            pid, (unit, _) = uuid.uuid4(), units[i % len(units)]
            region = units[i % 30][0]
            start = date(2018, rnd.randint(1, 6), 1)
            project_rows.append(
                (
                    pid,
                    program_id,
                    f"B{i:06d}",
                    f"通报项目{i:06d}",
                    CATEGORIES[i % len(CATEGORIES)],
                    region,
                    unit,
                    unit,
                    leader,
                    "[]",
                    "new",
                    "construction",
                    "approved",
                    Decimal(20000),
                    Decimal(12000),
                    start,
                    date(2019, 12, 31),
                    "{}",
                    1,
                    "bench",
                )
            )
            for month in range(start.month, 6):
                if rnd.random() < 0.85:
                    at = datetime(2018, month, 1, tzinfo=UTC) + timedelta(days=rnd.randint(8, 26))
                    amount = Decimal(rnd.randint(0, 2000))
                    report_rows.append(
                        (
                            uuid.uuid4(),
                            pid,
                            program_id,
                            f"2018-{month:02d}",
                            1,
                            amount,
                            amount,
                            Decimal(20),
                            "[]",
                            "[]",
                            at,
                            True,
                            at.day > 21,
                            "bench",
                            at,
                        )
                    )
        await conn.copy_records_to_table("project", columns=PROJECT_COLUMNS, records=project_rows)
        await conn.copy_records_to_table(
            "project_report",
            columns=REPORT_COLUMNS,
            records=report_rows,
        )
        await conn.execute("ANALYZE unit; ANALYZE project; ANALYZE project_report")
        return str(program_id)
    finally:
        await conn.close()


async def _floor_ms(database_url: str, program_id: str, rounds: int) -> list[float]:
    conn = await asyncpg.connect(database_url)
    try:
        timings = []
        for _ in range(rounds + 2):
            started = time.perf_counter()
            rows = await conn.fetch(FLOOR_SQL, uuid.UUID(program_id), AS_OF)
            timings.append((time.perf_counter() - started) * 1000)
            assert rows
        return sorted(timings[2:])
    finally:
        await conn.close()


def _p(ms: list[float], q: float) -> float:
    return ms[min(len(ms) - 1, int(q * len(ms)))]


def _line(name: str, ms: list[float], note: str = "") -> None:
    print(f"  {name:38} median {_p(ms, 0.5):8.1f} ms   p99 {_p(ms, 0.99):8.1f} ms   {note}")


def main() -> None:
    with fresh_database(ADMIN_URL, "bulletins") as db_url:
        _run(db_url, uuid.uuid4().hex[:8])


def _run(db_url: str, run_id: str) -> None:
    env = {
        **os.environ,
        "DUBAN_DATABASE_URL": db_url,
        "DUBAN_REDIS_URL": REDIS_URL,
        "DUBAN_QUEUE_PREFIX": f"duban-bench-{run_id}",
        "DUBAN_ENVIRONMENT": "test",
        "DUBAN_LOG_LEVEL": "WARNING",
    }
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli.main", "serve", "api", "--port", str(port)], env=env
    )
    api = f"http://127.0.0.1:{port}"
    try:
        wait(f"{api}/readyz", proc)
        auth = signed_in(api, env)
        plain = plain_url(db_url)
        small = asyncio.run(seed(plain, "BENCH", "BENCH-BUL", BULLETIN_PROJECTS))
        large = asyncio.run(seed(plain, "BENCH", "BENCH-OVR", OVERVIEW_PROJECTS))
        floor = asyncio.run(_floor_ms(plain, small, REQUESTS))
        floor_large = asyncio.run(_floor_ms(plain, large, REQUESTS))
        with httpx.Client(base_url=api, headers=auth, timeout=120) as c:
            params = {"as_of": AS_OF.isoformat()}
            bulletin = timed(c, f"/api/v1/programs/{small}/bulletins/2018-05", REQUESTS, params=params)
            xlsx = timed(
                c, f"/api/v1/programs/{small}/bulletins/2018-05.xlsx", max(3, REQUESTS // 10), params=params
            )
        cookie = {"Cookie": f"duban_session={auth['Authorization'].removeprefix('Bearer ')}"}
        with httpx.Client(base_url=api, headers=cookie, timeout=120) as c:
            overview = timed(c, f"/office/programs/{large}", REQUESTS)
        ratio = _p(bulletin, 0.5) / _p(floor, 0.5)
        print(f"\nmonthly bulletin, {BULLETIN_PROJECTS} projects, one request at a time ({REQUESTS} each):")
        _line("bare SQL aggregate (asyncpg)", floor)
        _line(
            "GET …/bulletins/2018-05 (JSON)",
            bulletin,
            f"{ratio:.2f}x the floor's median (target: at most 3x)",
        )
        _line("GET …/bulletins/2018-05.xlsx", xlsx, "target: median within 5 s")
        print(f"\noffice overview, {OVERVIEW_PROJECTS} projects:")
        _line("bare SQL aggregate (asyncpg)", floor_large)
        slower = _p(overview, 0.99) / _p(floor_large, 0.99)
        _line(
            "GET /office/programs/{id}",
            overview,
            f"{slower:.2f}x the floor's p99 (target: p99 within 300 ms)",
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


if __name__ == "__main__":
    main()
