"""`BENCH_ONLY=ranker make bench`: the ranker on a province-sized round, on a database of its own.

A closed round of BENCH_RANK_PROJECTS (1,000) projects × BENCH_RANK_INSPECTORS (100) inspectors ×
10 criteria — 1M score rows — is ranked by the ranker (`services.ranker.scoring.rank_round`, in
this process, best of BENCH_ROUNDS; `normalize: rater_effects`, the joint least-squares fit of
every inspector's effect, as new rounds do) beside the floor: one bare SQL statement over the same rows
that computes each inspector's rubric-weighted score, the trimmed mean per project and its rank
(what the ranker cannot do with less). The ranker's peak RSS is read from `duban ranker run` in
a process of its own (the rows stay in PostgreSQL).
"""

import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg

from bench import sweep as sweep_bench
from services.ranker.scoring import rank_round
from shared.db import create_engine, plain_url, session_factory
from shared.program_settings import ProgramSettings
from shared.settings import ApiSettings

PROJECTS = int(os.environ.get("BENCH_RANK_PROJECTS", "1000"))
INSPECTORS = int(os.environ.get("BENCH_RANK_INSPECTORS", "100"))
CRITERIA = 10
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
RUBRIC = [
    {"key": f"c{i}", "name": f"评分项{i}", "weight": str(Decimal(i + 1) / 55), "max_score": "10"}
    for i in range(CRITERIA)
]

# The floor: weighted score per (inspector, project), trimmed mean per project, rank. Nothing
# else: no z-scores, no incomplete rubrics, no objective components, no snapshot written.
BARE = """
WITH rubric AS (
    SELECT * FROM unnest($2::text[], $3::numeric[], $4::numeric[]) AS r(key, weight, max_score)
), per AS (
    SELECT s.project_id, s.inspector_id, 100 * sum(r.weight * s.value / r.max_score) / $5 AS score
    FROM observation_score s JOIN rubric r ON r.key = s.criterion
    WHERE s.round_id = $1 GROUP BY s.project_id, s.inspector_id
), ordered AS (
    SELECT per.*, count(*) OVER w AS n,
           row_number() OVER (PARTITION BY project_id ORDER BY score) AS low,
           row_number() OVER (PARTITION BY project_id ORDER BY score DESC) AS high
    FROM per WINDOW w AS (PARTITION BY project_id)
), observed AS (
    SELECT project_id, avg(score) AS observation FROM ordered
    WHERE n < 5 OR (low > 1 AND high > 1) GROUP BY project_id
)
SELECT project_id, round(observation, 2), rank() OVER (ORDER BY round(observation, 2) DESC) FROM observed
"""


async def seed(conn: asyncpg.Connection) -> uuid.UUID:
    """The office, 20 counties, the program, its projects and inspectors, and a closed round
    every inspector scored completely (COPY)."""
    office = uuid.uuid4()
    await conn.execute(
        "INSERT INTO unit (id, code, name, kind, path, version) "
        "VALUES ($1, 'RK-OFFICE', '省督查室', 'office', $2, 1)",
        office,
        f"/{office}/",
    )
    counties = [uuid.uuid4() for _ in range(20)]
    await conn.copy_records_to_table(
        "unit",
        columns=["id", "code", "name", "kind", "parent_id", "path", "version"],
        records=[
            (u, f"RK-C{i:02d}", f"县{i:02d}", "government", office, f"/{office}/{u}/", 1)
            for i, u in enumerate(counties)
        ],
    )
    program = uuid.uuid4()
    await conn.execute(
        "INSERT INTO program (id, code, name, year, office_unit_id, categories, settings, version) "
        "VALUES ($1, 'RANK', '观摩基准', 2018, $2, '{}', $3, 1)",
        program,
        office,
        json.dumps(ProgramSettings().model_dump(mode="json")),
    )
    leader = json.dumps({"name": "张三", "title": "副县长"})
    projects = [uuid.uuid4() for _ in range(PROJECTS)]
    await conn.copy_records_to_table(
        "project",
        columns=sweep_bench.PROJECT_COLUMNS,
        records=[
            (p, program, f"R{i:05d}", f"观摩项目{i:05d}", "公共服务", counties[i % 20], counties[i % 20],
             counties[i % 20], leader, "[]", "new", "construction", "approved", Decimal(100000),
             Decimal(50000), date(2018, 1, 1), date(2019, 12, 31), "{}", 1, "bench")
            for i, p in enumerate(projects)
        ],
    )  # fmt: skip
    inspectors = [uuid.uuid4() for _ in range(INSPECTORS)]
    await conn.copy_records_to_table(
        "app_user",
        columns=["id", "username", "display_name", "password_hash", "unit_id", "roles", "is_active"],
        records=[
            (u, f"rk-insp{i:03d}", f"督查员{i:03d}", "-", office, ["inspector"], True)
            for i, u in enumerate(inspectors)
        ],
    )
    round_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO observation_round (id, program_id, name, quarter, opens_at, closes_at, grace_hours, "
        "rubric, aggregation, observation_weight, objective_weights, tie_break, praise_top, "
        "criticise_bottom, state, version, created_by, closed_at) VALUES ($1, $2, '基准', '2018Q3', $3, $4, "
        "24, $5, $6, 0.6, $7, 'investment_rate', 3, 3, 'closed', 1, 'bench', $4)",
        round_id,
        program,
        datetime(2018, 9, 10, tzinfo=UTC),
        datetime(2018, 9, 14, tzinfo=UTC),
        json.dumps(RUBRIC),
        json.dumps({"trim": 1, "min_raters_for_trim": 5, "normalize": "rater_effects"}),
        json.dumps({"investment_rate": "0.2", "milestone_rate": "0.1", "report_timeliness": "0.1"}),
    )
    await conn.copy_records_to_table(
        "round_project", columns=["round_id", "project_id"], records=[(round_id, p) for p in projects]
    )
    await conn.copy_records_to_table(
        "round_inspector", columns=["round_id", "user_id"], records=[(round_id, u) for u in inspectors]
    )
    rnd = random.Random(20)
    at = datetime(2018, 9, 12, tzinfo=UTC)
    columns = ["id", "round_id", "inspector_id", "project_id", "criterion", "value", "scored_at", "client_id",
               "received_at"]  # fmt: skip
    for inspector in inspectors:  # 10,000 rows a COPY
        await conn.copy_records_to_table(
            "observation_score",
            columns=columns,
            records=[
                (uuid.uuid4(), round_id, inspector, p, c["key"], Decimal(rnd.randint(40, 100)) / 10, at,
                 uuid.uuid4(), at)
                for p in projects
                for c in RUBRIC
            ],
        )  # fmt: skip
    await conn.execute("VACUUM ANALYZE")
    return round_id


async def _bare(conn: asyncpg.Connection, round_id: uuid.UUID) -> float:
    started = time.perf_counter()
    rows = await conn.fetch(
        BARE,
        round_id,
        [c["key"] for c in RUBRIC],
        [Decimal(c["weight"]) for c in RUBRIC],
        [Decimal(c["max_score"]) for c in RUBRIC],
        sum(Decimal(c["weight"]) for c in RUBRIC),
    )
    assert len(rows) == PROJECTS
    return time.perf_counter() - started


async def _ranker(database_url: str, round_id: uuid.UUID) -> float:
    engine = create_engine(ApiSettings(database_url=database_url, redis_url="redis://127.0.0.1:6379/0"))
    try:
        started = time.perf_counter()
        snapshot = await rank_round(session_factory(engine), round_id)
        elapsed = time.perf_counter() - started
        assert snapshot is not None and len(snapshot.document["projects"]) == PROJECTS
        return elapsed
    finally:
        await engine.dispose()


_LAUNCHER = (
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "code = os.waitstatus_to_exitcode(status)\n"
    "print(usage.ru_maxrss)\n"
    "sys.exit(code)\n"
)


def _peak_rss_mb(database_url: str, round_id: uuid.UUID) -> float:
    """`duban ranker run` in a process of its own; its peak resident set, in MB."""
    env = {**os.environ, "DUBAN_DATABASE_URL": database_url, "DUBAN_REDIS_URL": "redis://127.0.0.1:6379/0"}
    # Its own peak, through a small launcher: a child forked from this process starts with this
    # process's pages (1.2 GB after a full run's seeding) and its peak keeps them across exec; the
    # launcher's child starts from the launcher's few MB.
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, sys.executable, "-m", "services.cli.main", "ranker", "run",
         "--round", str(round_id)],
        env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1]) / 1024


async def run(database_url: str) -> dict[str, float]:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        started = time.perf_counter()
        round_id = await seed(conn)
        rows = await conn.fetchval("SELECT count(*) FROM observation_score")
        print(f"ranker bench: seeded {rows} score rows in {time.perf_counter() - started:.0f} s", flush=True)
        bare, ranker = [], []
        for _ in range(ROUNDS):
            bare.append(await _bare(conn, round_id))
            ranker.append(
                await _ranker(database_url, round_id)
            )  # a rerun computes in full, then keeps the latest
        rss = _peak_rss_mb(database_url, round_id)
    finally:
        await conn.close()
    result = {"rows": rows, "ranker_s": min(ranker), "bare_s": min(bare), "ratio": min(ranker) / min(bare),
              "peak_rss_mb": rss}  # fmt: skip
    print(f"{'case':28s} {'seconds':>8s}")
    print(f"{'ranker, the whole round':28s} {result['ranker_s']:8.2f}")
    print(f"{'bare trimmed mean + rank':28s} {result['bare_s']:8.2f}")
    print(
        f"the ranker is {result['ratio']:.2f}x the bare SQL over {rows} rows (target: at most 3x); "
        f"its peak RSS {rss:.0f} MB (target: under 300 MB)"
    )
    return result


def main() -> dict[str, float]:
    """Run on a fresh database of its own (called by bench/__main__ for BENCH_ONLY=ranker)."""
    from bench.__main__ import ADMIN_URL
    from bench.stack import fresh_database

    with fresh_database(ADMIN_URL, "ranker") as db_url:
        return asyncio.run(run(db_url))
