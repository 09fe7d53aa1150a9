"""A county office's first month, replayed through the api: ten projects, January to May entered as
history from a spreadsheet (the office moving off spreadsheets in June), June filed live; the dues
say who owes what with names, and show no phantom rows."""

import io
from datetime import date
from decimal import Decimal

from httpx import AsyncClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.models import Project, ProjectReport
from tests.world import World, at


def _sheet(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["项目编号", "期次", "本月完成投资(万元)", "形象进度(%)", "报送时间", "备注"])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def _import(
    client: AsyncClient, world: World, content: bytes, who: str, dry_run: bool = False
) -> object:
    return await client.post(
        "/api/v1/reports/import",
        data={"program_id": str(world.programs["P"].id), "dry_run": str(dry_run).lower()},
        files={"file": ("history.xlsx", content, "application/octet-stream")},
        headers=world.auth(who),
    )


async def test_a_county_enters_january_to_may_as_history_and_files_june_live(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    county = world.units["A"]
    codes = [f"LC-{i:02d}" for i in range(1, 11)]
    for code in codes:
        session.add(
            Project(
                program_id=world.programs["P"].id, code=code, name=f"栾川项目{code[-2:]}",
                category="现代基础设施",
                region_unit_id=county.id, owner_unit_id=county.id, responsible_unit_id=county.id,
                leader={"name": "张三", "title": "副县长"}, construction="new", stage="construction",
                status="approved", total_investment=Decimal("5000"), annual_plan=Decimal("1200"),
                start_date=date(2018, 1, 1), end_date=date(2019, 12, 31), created_by="test",
            )
        )  # fmt: skip
    await session.commit()
    # January to May as they happened: on time (the 20th) but May, filed on the 25th
    history = [
        [code, f"2018-{m:02d}", 100, 5 * m, f"2018-{m:02d}-{25 if m == 5 else 20} 10:00", None]
        for code in codes
        for m in range(1, 6)
    ]
    with clock.use_clock(at("2018-06-04 09:00")):
        template = await client.get("/api/v1/reports/template.xlsx", headers=world.auth("p_staff"))
        assert template.status_code == 200
        assert [c.value for c in load_workbook(io.BytesIO(template.content)).active[1]][:5] == [
            "项目编号", "期次", "本月完成投资(万元)", "形象进度(%)", "报送时间",
        ]  # fmt: skip
        by_reporter = await _import(client, world, _sheet(history[:1]), "a_reporter")
        assert by_reporter.status_code == 422
        assert by_reporter.json()["errors"][0]["column"] == "报送时间"  # reporters do not backdate
        bad = await _import(
            client, world, _sheet([*history[:3], ["LC-99", "2018-01", 1, 1, None, None]]), "p_staff"
        )
        assert bad.status_code == 422 and bad.json()["errors"] == [
            {"row": 5, "column": "项目编号", "message": "no project 'LC-99' in this program that you can see"}
        ]
        out_of_range = await _import(
            client, world, _sheet([["LC-01", "2018-01", 1, 150, None, None]]), "p_staff"
        )
        assert out_of_range.status_code == 422
        [error] = out_of_range.json()["errors"]
        assert (error["row"], error["column"]) == (2, "形象进度(%)")  # named at its column
        dry = await _import(client, world, _sheet(history), "p_staff", dry_run=True)
        assert dry.status_code == 200 and dry.json() == {"created": 50, "dry_run": True, "errors": []}
        done = await _import(client, world, _sheet(history), "p_staff")
        assert done.status_code == 200 and done.json()["created"] == 50
    stored = await session.scalar(
        select(func.count()).where(
            ProjectReport.program_id == world.programs["P"].id, ProjectReport.recorded_by_office
        )
    )
    assert stored == 50  # the failed and dry runs filed nothing
    # June, filed live by the county's liaison: nine on time, one not at all
    for code in codes[:9]:
        project_id = await session.scalar(select(Project.id).where(Project.code == code))
        with clock.use_clock(at("2018-06-21 15:00")):
            r = await client.post(
                f"/api/v1/projects/{project_id}/reports",
                json={"period": "2018-06", "investment_month": "100", "progress_percent": "30"},
                headers=world.auth("a_reporter"),
            )
        assert r.status_code == 201 and r.json()["recorded_by_office"] is False
    params = {
        "program_id": str(world.programs["P"].id),
        "as_of": "2018-07-01T09:00:00+08:00",
        "kind": "project_monthly",
        "page_size": "500",
    }
    owed = (await client.get("/api/v1/reports/dues", params=params, headers=world.auth("p_staff"))).json()
    ours = [d for d in owed["data"] if d["code"] in codes]
    assert all(d["period"] != "none" for d in owed["data"])  # no phantom rows
    states = {(d["code"], d["period"]): d["state"] for d in ours}
    assert {states[(c, "2018-01")] for c in codes} == {"submitted"}
    assert {states[(c, "2018-05")] for c in codes} == {"late"}  # the 25th, after the 22nd
    assert [c for c in codes if states[(c, "2018-06")] == "overdue"] == ["LC-10"]
    late = next(d for d in ours if d["code"] == "LC-10" and d["period"] == "2018-06")
    assert (late["name"], late["responsible_unit_name"], late["due_date"]) == (
        "栾川项目10",
        "A",
        "2018-06-22",
    )
