"""`BENCH_ONLY=sweep make bench`: the notice sweep on a province-sized program, beside a bare
SQL `INSERT … SELECT` writing the same chains and notices from the same tables, and beside the
same sweep once the history is gone — all in one run.

A program of BENCH_SWEEP_PROJECTS (100,000) approved projects under construction in 100
counties, January–August reported by all, September by 90 %; BENCH_SWEEP_HISTORY (1,000,000)
notices of earlier months in closed chains. As of Wednesday 26 September 2018, 09:00, the
sweep opens a chain and issues the urging notice for each of the 10,000 projects that did not
file September's form (due the 25th). Each case runs BENCH_ROUNDS times (the best kept), the
rows it wrote deleted between rounds.
"""

import asyncio
import json
import os
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from services.notifier.sweep import sweep
from shared.clock import OFFICE_TZ
from shared.db import create_engine, plain_url, session_factory
from shared.program_settings import NoticeRules, ProgramSettings, ReportSchedule, Switch
from shared.settings import ApiSettings

PROJECTS = int(os.environ.get("BENCH_SWEEP_PROJECTS", "100000"))
HISTORY = int(os.environ.get("BENCH_SWEEP_HISTORY", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
AS_OF = datetime(2018, 9, 26, 9, tzinfo=OFFICE_TZ)
COUNTIES = 100
OFF = {"enabled": False}
SETTINGS = ProgramSettings(
    report_schedules=[ReportSchedule(kind="project_monthly", due_day=22, month_offset=0)],
    notice_rules=NoticeRules(
        milestone_due=Switch(enabled=False),
        problem_overdue=Switch(enabled=False),
        investment_behind=OFF,
        not_moving=OFF,
        moving_slowly=OFF,  # type: ignore[arg-type]
    ),
)

# The bare floor: every period of the year as the dues do, the projects that owe one and never
# filed it by now, one chain and its urging notice each — two statements, nothing in Python.
BARE = """
WITH periods(period, ends, due_at) AS (
    SELECT to_char(m, 'YYYY-MM'), (m + interval '1 month - 1 day')::date,
           m + interval '24 days' - interval '8 hours'
    FROM generate_series(timestamptz '2018-01-01', timestamptz '2018-09-01', interval '1 month') AS m
), owed AS (
    SELECT p.id, p.responsible_unit_id, periods.period
    FROM project p JOIN periods ON p.start_date <= periods.ends AND periods.due_at <= $2
    WHERE p.program_id = $1 AND p.status = 'approved' AND p.stage IN ('preparation', 'construction')
      AND NOT EXISTS (SELECT 1 FROM project_report r WHERE r.project_id = p.id AND r.period = periods.period
                      AND r.version = 1 AND r.submitted_at <= $2)
), chains AS (
    INSERT INTO notice_chain (id, program_id, rule, subject_type, subject_id, schedule_kind, period,
                              recipient_unit_id, due_date, policy, level, last_issued_on, next_level_on,
                              state, opened_at, title)
    SELECT gen_random_uuid(), $1, 'report_due', 'project', id, 'project_monthly', period, responsible_unit_id,
           '2018-09-25', $3::jsonb, 1, '2018-09-26', '2018-09-29', 'open', $2, '项目月报'
    FROM owed
    ON CONFLICT DO NOTHING
    RETURNING id, subject_id, recipient_unit_id, period
)
INSERT INTO notice (id, chain_id, program_id, kind, level, recipient_unit_id, recipient, subject_type,
                    subject_id,
                    period, requirements, issued_on, issued_at, due_date, state)
SELECT gen_random_uuid(), id, $1, 'urging', 1, recipient_unit_id, 'unit', 'project', subject_id, period,
       '项目月报：已到期未完成，请立即办理并书面反馈结果。', '2018-09-26', $2, '2018-10-08', 'issued'
FROM chains
"""


async def seed(conn: asyncpg.Connection) -> uuid.UUID:
    office = uuid.uuid4()
    await conn.execute(
        "INSERT INTO unit (id, code, name, kind, path, version) "
        "VALUES ($1, 'SW-OFFICE', '省督查室', 'office', $2, 1)",
        office,
        f"/{office}/",
    )
    counties = [uuid.uuid4() for _ in range(COUNTIES)]
    await conn.copy_records_to_table(
        "unit",
        columns=["id", "code", "name", "kind", "parent_id", "path", "version"],
        records=[
            (u, f"SW-C{i:03d}", f"县{i:03d}", "government", office, f"/{office}/{u}/", 1)
            for i, u in enumerate(counties)
        ],
    )
    program = uuid.uuid4()
    await conn.execute(
        "INSERT INTO program (id, code, name, year, office_unit_id, categories, settings, version) "
        "VALUES ($1, 'SWEEP', '督办基准', 2018, $2, '{}', $3, 1)",
        program,
        office,
        json.dumps(SETTINGS.model_dump(mode="json")),
    )
    rnd = random.Random(26)
    leader = json.dumps({"name": "张三", "title": "副县长"})
    projects, reports = [], []
    for i in range(PROJECTS):
        pid, county = uuid.uuid4(), counties[i % COUNTIES]
        projects.append(
            (
                pid,
                program,
                f"S{i:06d}",
                f"督办项目{i:06d}",
                "公共服务",
                county,
                county,
                county,
                leader,
                "[]",
                "new",
                "construction",
                "approved",
                Decimal(100000),
                Decimal(50000),
                date(2018, 1, 1),
                date(2019, 12, 31),
                "{}",
                1,
                "bench",
            )
        )
        for month in range(1, 10):
            if month == 9 and rnd.random() < 0.1:
                continue  # September's form never filed
            at = datetime(2018, month, 20, tzinfo=UTC)
            reports.append(
                (
                    uuid.uuid4(),
                    pid,
                    program,
                    f"2018-{month:02d}",
                    1,
                    Decimal(100),
                    Decimal(100 * month),
                    Decimal(50),
                    "[]",
                    "[]",
                    at,
                    True,
                    False,
                    "bench",
                    at,
                )
            )
    await conn.copy_records_to_table("project", columns=PROJECT_COLUMNS, records=projects)
    await conn.copy_records_to_table("project_report", columns=REPORT_COLUMNS, records=reports)
    await history(conn, program, [p[0] for p in projects], [p[5] for p in projects])
    await conn.execute("VACUUM ANALYZE")
    return program


async def history(
    conn: asyncpg.Connection, program: uuid.UUID, projects: list[Any], units: list[Any]
) -> None:
    """HISTORY notices of January–August, four rungs a chain, every chain closed (filed late)."""
    policy = json.dumps(SETTINGS.escalation_policy.model_dump(mode="json"))
    chains, notices = [], []
    kinds = ["reminder", "urging", "supervision", "criticism"]
    keys = ((i, month) for month in range(1, 9) for i in range(len(projects)))
    for i, month in keys:
        if len(notices) >= HISTORY:
            break
        chain, period = uuid.uuid4(), f"2018-{month:02d}"
        day = date(2018, month, 20)
        closed = datetime(2018, month, 28, tzinfo=UTC)
        chains.append(
            (
                chain,
                program,
                "report_due",
                "project",
                projects[i],
                "project_monthly",
                period,
                units[i],
                day,
                policy,
                3,
                day,
                None,
                "closed",
                "report_filed",
                closed - timedelta(days=9),
                closed,
                "项目月报",
            )
        )
        for level, kind in enumerate(kinds):
            state = "closed" if level == 3 else "superseded"
            notices.append(
                (
                    uuid.uuid4(),
                    chain,
                    program,
                    kind,
                    level,
                    units[i],
                    "unit",
                    "project",
                    projects[i],
                    period,
                    "请报送",
                    day,
                    closed,
                    day,
                    state,
                    closed,
                )
            )
    await conn.copy_records_to_table(
        "notice_chain",
        columns=[
            "id",
            "program_id",
            "rule",
            "subject_type",
            "subject_id",
            "schedule_kind",
            "period",
            "recipient_unit_id",
            "due_date",
            "policy",
            "level",
            "last_issued_on",
            "next_level_on",
            "state",
            "closed_reason",
            "opened_at",
            "closed_at",
            "title",
        ],
        records=chains,
    )
    await conn.copy_records_to_table(
        "notice",
        columns=[
            "id",
            "chain_id",
            "program_id",
            "kind",
            "level",
            "recipient_unit_id",
            "recipient",
            "subject_type",
            "subject_id",
            "period",
            "requirements",
            "issued_on",
            "issued_at",
            "due_date",
            "state",
            "closed_at",
        ],
        records=notices,
    )


async def undo(conn: asyncpg.Connection) -> None:
    """Remove what a round wrote (the chains opened as of AS_OF, their notices and events)."""
    await conn.execute("DELETE FROM notice WHERE issued_at = $1", AS_OF)
    await conn.execute("DELETE FROM notice_chain WHERE opened_at = $1", AS_OF)
    await conn.execute("DELETE FROM outbox")
    await conn.execute("VACUUM ANALYZE notice_chain, notice, outbox")


async def run(database_url: str) -> dict[str, float]:
    conn = await asyncpg.connect(plain_url(database_url))
    engine = create_engine(ApiSettings(database_url=database_url, redis_url="redis://127.0.0.1:6379/0"))
    sessions = session_factory(engine)
    try:
        started = time.monotonic()
        program = await seed(conn)
        print(
            f"\nsweep bench: seeded {PROJECTS} projects, {HISTORY} historical notices "
            f"in {time.monotonic() - started:.0f} s"
        )
        policy = json.dumps(SETTINGS.escalation_policy.model_dump(mode="json"))
        best: dict[str, float] = {}
        issued: dict[str, int] = {}

        async def case(name: str, fn: Any) -> None:
            for _ in range(ROUNDS):
                began = time.monotonic()
                issued[name] = await fn()
                best[name] = min(best.get(name, float("inf")), time.monotonic() - began)
                await undo(conn)

        async def swept() -> int:
            return (await sweep(sessions, AS_OF))["issued"]

        async def bare() -> int:
            return int((await conn.execute(BARE, program, AS_OF, policy)).split()[-1])

        for _ in range(2):  # interleaved: the history's cases, twice
            await case("sweep, 1M history", swept)
            await case("bare, 1M history", bare)
        await conn.execute("DELETE FROM notice WHERE issued_at < $1", AS_OF)
        await conn.execute("DELETE FROM notice_chain WHERE opened_at < $1", AS_OF)
        await conn.execute("VACUUM ANALYZE notice_chain, notice")
        for _ in range(2):
            await case("sweep, no history", swept)
            await case("bare, no history", bare)
    finally:
        await conn.close()
        await engine.dispose()
    print(f"{'case':24} {'seconds':>8} {'notices':>8}")
    for name, seconds in best.items():
        print(f"{name:24} {seconds:8.2f} {issued[name]:8d}")
    with_history, without = best["sweep, 1M history"], best["sweep, no history"]
    bare_history, bare = best["bare, 1M history"], best["bare, no history"]
    print(
        f"the sweep is {with_history / bare_history:.2f}x the bare INSERT … SELECT with the history "
        f"(target: at most 2x), {without / bare:.2f}x without it; the history costs the "
        f"sweep {with_history / without:.2f}x (target: within 1.2x) and the bare statement "
        f"{bare_history / bare:.2f}x"
    )
    assert len(set(issued.values())) == 1, issued
    return best


PROJECT_COLUMNS = (
    "id program_id code name category region_unit_id owner_unit_id responsible_unit_id leader "
    "service_team construction stage status total_investment annual_plan start_date end_date "
    "monthly_plan version created_by"
).split()
REPORT_COLUMNS = (
    "id project_id program_id period version investment_month investment_to_date progress_percent "
    "milestones coordination due_at due_complete late submitted_by submitted_at"
).split()


if __name__ == "__main__":
    asyncio.run(run(os.environ["BENCH_DATABASE_URL"]))
