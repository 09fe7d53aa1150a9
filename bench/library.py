"""The project library at a city's scale and beyond: 50k projects for the list, a 10k-row import.

Seeding goes straight to PostgreSQL with COPY (it is set-up, not what is measured).
"""

import io
import json
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx
from openpyxl import Workbook

from bench.stack import timed
from services.api.projects.excel import HEADERS
from services.api.reports.service import _FILE

CATEGORIES = [
    "现代创新",
    "现代产业",
    "现代市场",
    "现代城镇",
    "现代基础设施",
    "文化传承创新",
    "生态环境建设",
    "现代开放",
    "公共服务",
]
STAGES = ["planning", "preparation", "construction", "completed"]
# The list case: two filters and a sort, a page of 50.
LIST_FILTERS = {"category": "现代基础设施", "stage": "construction"}
LIST_SORT = "-total_investment"
PROJECT_COLUMNS = (
    "id program_id code name category region_unit_id owner_unit_id responsible_unit_id leader "
    "service_team construction stage status total_investment annual_plan start_date end_date "
    "monthly_plan version created_by"
).split()
# a project report row as the benches COPY it: each one filed once (version 1)
REPORT_COLUMNS = (
    "id project_id program_id period version investment_month investment_to_date progress_percent "
    "milestones coordination due_at due_complete late submitted_by submitted_at"
).split()
LIST_SQL = """
SELECT id, program_id, code, name, category, region_unit_id, owner_unit_id, responsible_unit_id, leader,
       construction, stage, status, total_investment, annual_plan, start_date, end_date, version, updated_at
FROM project WHERE category = $1 AND stage = $2
ORDER BY total_investment DESC NULLS LAST, id LIMIT 50
"""


async def seed(
    database_url: str, office_code: str, projects: int = 50_000, counties: int = 30
) -> dict[str, str]:
    """Counties under the office, a program, and `projects` approved projects spread over them."""
    conn = await asyncpg.connect(database_url)
    try:
        office_id, office_path = await conn.fetchrow("SELECT id, path FROM unit WHERE code = $1", office_code)
        county_ids = [uuid.uuid4() for _ in range(counties)]
        await conn.copy_records_to_table(
            "unit",
            columns=["id", "code", "name", "kind", "parent_id", "path", "version"],
            records=[
                (u, f"BENCH-C{i:03d}", f"县{i:03d}", "government", office_id, f"{office_path}{u}/", 1)
                for i, u in enumerate(county_ids)
            ],
        )
        program_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO program (id, code, name, year, office_unit_id, categories, settings, version) "
            "VALUES ($1, 'BENCH-2018', '基准计划', 2018, $2, $3, '{}', 1)",
            program_id,
            office_id,
            CATEGORIES,
        )
        rnd = random.Random(2018)
        leader = json.dumps({"name": "张三", "title": "副县长"})
        records = []
        for i in range(projects):
            county = county_ids[i % counties]
            total = Decimal(rnd.randint(100, 500_000))
            start = date(2018, 1, 1) + timedelta(days=rnd.randint(0, 300))
            annual = (total / 2).quantize(Decimal("0.01"))
            stage = STAGES[rnd.randint(0, 3)]
            names = (f"P{i:06d}", f"基准项目{i:06d}", CATEGORIES[i % len(CATEGORIES)])
            money = (total, annual, start, start + timedelta(days=700))
            units = (county, county, county)
            records.append(
                (
                    uuid.uuid4(),
                    program_id,
                    *names,
                    *units,
                    leader,
                    "[]",
                    "new",
                    stage,
                    "approved",
                    *money,
                    "{}",
                    1,
                    "bench",
                )
            )
        await conn.copy_records_to_table(
            "project",
            columns=PROJECT_COLUMNS,
            records=records,
        )
        await conn.execute("ANALYZE unit; ANALYZE project")
        return {"program_id": str(program_id), "county_code": "BENCH-C000"}
    finally:
        await conn.close()


def import_file(rows: int, county_code: str) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("项目库")
    ws.append(HEADERS)
    index = {h: i for i, h in enumerate(HEADERS)}
    for i in range(rows):
        cells: list[object] = [None] * len(HEADERS)
        values = {
            "项目编号": f"IMP{i:06d}",
            "项目名称": f"导入项目{i:06d}",
            "所属类别": CATEGORIES[i % len(CATEGORIES)],
            "所属区域": county_code,
            "业主单位": county_code,
            "责任单位": county_code,
            "责任领导": "李四",
            "领导职务": "县长",
            "建设性质": "新建",
            "建设阶段": "前期",
            "总投资(万元)": 1000 + i,
            "年度计划投资(万元)": 500,
            "开工日期": "2018-03-01",
            "竣工日期": "2019-12-31",
            "主要节点": "开工:2018-03-15；主体完工:2019-06-30",
            "3月计划投资(万元)": 100,
            "6月计划投资(万元)": 150,
        }
        for header, value in values.items():
            cells[index[header]] = value
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def time_import(
    api: str, auth: dict[str, str], program_id: str, content: bytes
) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    r = httpx.post(
        f"{api}/api/v1/projects/import",
        data={"program_id": program_id},
        files={"file": ("bench.xlsx", content, "application/octet-stream")},
        headers=auth,
        timeout=300,
    )
    elapsed = time.perf_counter() - started
    body = r.json()
    if r.status_code != 200 or body.get("errors"):
        raise SystemExit(f"bench: the import failed: {r.status_code} {str(body)[:500]}")
    return elapsed, body


async def seed_dues(database_url: str, office_code: str, projects: int = 10_000) -> str:
    """A program of `projects` projects under construction, most months reported, some late."""
    conn = await asyncpg.connect(database_url)
    try:
        office_id = await conn.fetchval("SELECT id FROM unit WHERE code = $1", office_code)
        county = await conn.fetchval("SELECT id FROM unit WHERE code = 'BENCH-C000'")
        program_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO program (id, code, name, year, office_unit_id, categories, settings, version) "
            "VALUES ($1, 'BENCH-DUES', '报表基准', 2018, $2, '{}', '{}', 1)",
            program_id,
            office_id,
        )
        rnd = random.Random(22)
        leader = json.dumps({"name": "张三", "title": "副县长"})
        project_rows, report_rows = [], []
        for i in range(projects):
            pid = uuid.uuid4()
            names = (f"D{i:06d}", f"报表项目{i:06d}", "公共服务")
            project_rows.append(
                (
                    pid,
                    program_id,
                    *names,
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
                if rnd.random() < 0.7:
                    at = datetime(2018, month, 1, tzinfo=UTC) + timedelta(days=rnd.randint(10, 30))
                    report_rows.append(
                        (
                            uuid.uuid4(),
                            pid,
                            program_id,
                            f"2018-{month:02d}",
                            1,
                            Decimal(100),
                            Decimal(100),
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
        await conn.copy_records_to_table("project", columns=PROJECT_COLUMNS, records=project_rows)
        await conn.copy_records_to_table(
            "project_report",
            columns=REPORT_COLUMNS,
            records=report_rows,
        )
        await conn.execute("ANALYZE project; ANALYZE project_report")
        return str(program_id)
    finally:
        await conn.close()


def time_dues(api: str, auth: dict[str, str], program_id: str, rounds: int = 20) -> list[float]:
    """Milliseconds per GET /reports/dues (first page and the per-state counts), one at a time."""
    url = f"{api}/api/v1/reports/dues"
    params = {"program_id": program_id, "as_of": "2018-10-09", "page_size": "50"}
    with httpx.Client(headers=auth, timeout=60) as client:
        return timed(client, url, rounds, params=params)


async def file_in_db(
    conn: asyncpg.Connection,
    project_id: uuid.UUID,
    body: dict[str, object],
    report_id: uuid.UUID,
    now: datetime,
) -> asyncpg.Record:
    """One report filed by the database's file_project_report function alone, as the api calls it
    (visible to all, no problems raised); the first filing of a period computes no deadline and
    keeps none, where the api keeps the one the schedule gives."""
    args = [
        project_id,
        "",
        body["period"],
        Decimal(str(body["investment_month"])),
        Decimal(str(body["progress_percent"])),
        json.dumps(body.get("milestones", [])),
        "[]",
        body.get("note"),
        report_id,
        "bench",
        now,
        "user",
        "bench",
        json.dumps(body),
        None,
        True,
    ]
    recording = (now, False)  # filed now, by the unit (not history the office enters)
    filed = await conn.fetchrow(_FILE, *args, None, None, None, *recording)
    if filed is not None and filed["o_outcome"] == "needs_deadline":
        filed = await conn.fetchrow(_FILE, *args, filed["o_stamp"], None, True, *recording)
    assert filed is not None and filed["o_outcome"] == "filed", filed
    return filed
