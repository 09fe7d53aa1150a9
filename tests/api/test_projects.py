"""The project library: entry and its rules, review, optimistic locking, adjustment, listing."""

import uuid
from decimal import Decimal
from typing import Any
from uuid import uuid4

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.auth.principal import issue_token
from shared.models import AppUser, OutboxMessage
from shared.settings import ApiSettings
from tests.world import World, new_project


async def test_a_county_enters_a_draft_with_money_as_decimal_strings(
    client: AsyncClient, world: World
) -> None:
    r = await client.post("/api/v1/projects", json=new_project(world), headers=world.auth("a_reporter"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "draft" and body["version"] == 1 and r.headers["ETag"] == '"1"'
    assert body["total_investment"] == "12000.50" and body["monthly_plan"]["2018-05"] == "800.25"
    assert [m["name"] for m in body["milestones"]] == ["开工", "主体完工"]
    got = await client.get(r.headers["Location"], headers=world.auth("p_staff"))
    assert got.status_code == 200 and got.json()["leader"] == {"name": "王五", "title": "副县长"}


async def test_one_answer_names_the_schemas_faults_and_the_rules_together(
    client: AsyncClient, world: World
) -> None:
    """Seven faults: a month that is not one (the schema's) and six the rules find (an annual plan
    above the total, a month outside the program year, a milestone outside the period, a
    category not the program's, a unit the reporter cannot see, an end before the start) — all in
    the first answer, not one now and five after fixing it."""
    bad = new_project(
        world,
        total_investment="100",
        annual_plan="200",
        monthly_plan={"2018-13": "1", "2019-01": "1"},
        milestones=[{"name": "开工", "planned_date": "2017-12-01"}],
        category="不存在的类别",
        owner_unit_id=str(world.units["B"].id),
    )
    r = await client.post("/api/v1/projects", json=bad, headers=world.auth("a_reporter"))
    assert r.status_code == 422
    locs = {tuple(e["loc"]) for e in r.json()["errors"]}
    assert locs >= {
        ("body", "monthly_plan"),  # 2018-13 is not a month
        ("body", "annual_plan"),
        ("body", "milestones", 0, "planned_date"),
        ("body", "category"),
        ("body", "owner_unit_id"),
    }, locs
    assert ("body", "monthly_plan", "2019-01") not in locs  # inside a field the schema faulted: once
    # a change behaves the same
    draft = await client.post("/api/v1/projects", json=new_project(world), headers=world.auth("a_reporter"))
    assert draft.status_code == 201, draft.text
    change = {"monthly_plan": {"2018-13": "1"}, "annual_plan": "999999", "category": "不存在的类别"}
    r = await client.patch(
        f"/api/v1/projects/{draft.json()['id']}",
        json=change,
        headers={**world.auth("a_reporter"), "If-Match": f'"{draft.json()["version"]}"'},
    )
    assert r.status_code == 422
    assert {tuple(e["loc"]) for e in r.json()["errors"]} == {
        ("body", "monthly_plan"),
        ("body", "annual_plan"),  # above the total investment
        ("body", "category"),
    }, r.json()
    backwards = new_project(world, end_date="2018-01-01", milestones=[], monthly_plan={"2018-13": "1"})
    r = await client.post("/api/v1/projects", json=backwards, headers=world.auth("a_reporter"))
    assert {tuple(e["loc"]) for e in r.json()["errors"]} == {("body", "monthly_plan"), ("body", "end_date")}


async def test_the_rules_name_every_broken_field(client: AsyncClient, world: World) -> None:
    reporter = world.auth("a_reporter")
    bad = new_project(
        world,
        annual_plan="20000",
        monthly_plan={"2018-04": "30000", "2019-01": "1", "2018-02": "5"},  # February: before it starts
        milestones=[{"name": "开工", "planned_date": "2017-12-01"}],
        category="不存在的类别",
    )
    r = await client.post("/api/v1/projects", json=bad, headers=reporter)
    assert r.status_code == 422
    locs = [e["loc"] for e in r.json()["errors"]]
    assert ["body", "annual_plan"] in locs
    assert ["body", "monthly_plan"] in locs
    assert ["body", "monthly_plan", "2019-01"] in locs
    assert ["body", "monthly_plan", "2018-02"] in locs and "outside the project period" in r.text
    assert ["body", "milestones", 0, "planned_date"] in locs
    assert ["body", "category"] in locs
    assert "exceeds the total investment" in r.json()["detail"]
    backwards = await client.post(
        "/api/v1/projects", json=new_project(world, end_date="2018-01-01", milestones=[]), headers=reporter
    )
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["loc"] == ["body", "end_date"]
    floaty = await client.post(
        "/api/v1/projects", json=new_project(world, total_investment="1.234"), headers=reporter
    )
    assert floaty.status_code == 422 and floaty.json()["errors"][0]["loc"] == ["body", "total_investment"]


async def test_units_must_exist_and_be_visible(client: AsyncClient, world: World) -> None:
    reporter = world.auth("a_reporter")
    r = await client.post(
        "/api/v1/projects", json=new_project(world, owner_unit_id=str(world.units["B"].id)), headers=reporter
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "owner_unit_id"]
    r = await client.post(
        "/api/v1/projects", json=new_project(world, region_unit_id=str(uuid4())), headers=reporter
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "region_unit_id"]


async def test_a_duplicate_code_in_the_program_is_409(client: AsyncClient, world: World) -> None:
    body = new_project(world, code=world.projects["A"].code)
    r = await client.post("/api/v1/projects", json=body, headers=world.auth("a_reporter"))
    assert r.status_code == 409 and world.projects["A"].code in r.json()["detail"]


async def test_review_draft_submitted_returned_submitted_approved(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    reporter, office = world.auth("a_reporter"), world.auth("p_staff")
    made = (await client.post("/api/v1/projects", json=new_project(world), headers=reporter)).json()
    url = f"/api/v1/projects/{made['id']}"
    early = await client.post(f"{url}/approve", headers=office)
    assert early.status_code == 409 and "draft" in early.json()["detail"]
    assert (await client.post(f"{url}/submit", headers=reporter)).json()["status"] == "submitted"
    locked = await client.patch(url, json={"name": "改"}, headers={**reporter, "If-Match": "2"})
    assert locked.status_code == 409 and "under review" in locked.json()["detail"]
    county_office = await client.post(f"{url}/approve", headers=world.auth("b_admin"))
    assert county_office.status_code == 404  # B cannot even see A's project
    returned = await client.post(f"{url}/return", json={"reason": "补充用地手续"}, headers=office)
    assert returned.json()["status"] == "returned" and returned.json()["return_reason"] == "补充用地手续"
    fixed = await client.patch(
        url, json={"name": "栾川县滑雪度假区提升工程"}, headers={**reporter, "If-Match": "3"}
    )
    assert fixed.status_code == 200 and fixed.json()["version"] == 4
    await client.post(f"{url}/submit", headers=reporter)
    stale = await client.post(f"{url}/approve", headers={**office, "If-Match": "4"})
    assert stale.status_code == 412
    approved = await client.post(f"{url}/approve", headers={**office, "If-Match": "5"})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    events = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.job == "event")))
    assert [(e.payload["event"], e.payload["subject_id"]) for e in events] == [
        ("project.approved", made["id"])
    ]
    program = (await client.get(f"/api/v1/programs/{world.programs['P'].id}", headers=office)).json()
    assert program["approved_total_investment"] == "12000.50" and program["approved_projects"] == 1


async def test_edits_need_the_version_just_read(client: AsyncClient, world: World) -> None:
    reporter = world.auth("a_reporter")
    made = (await client.post("/api/v1/projects", json=new_project(world), headers=reporter)).json()
    url = f"/api/v1/projects/{made['id']}"
    assert (await client.patch(url, json={"stage": "construction"}, headers=reporter)).status_code == 428
    ok = await client.patch(url, json={"stage": "construction"}, headers={**reporter, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.json()["stage"] == "construction"
    lost = await client.patch(url, json={"stage": "planning"}, headers={**reporter, "If-Match": "1"})
    assert lost.status_code == 412 and "version 2" in lost.json()["detail"]
    over = await client.patch(url, json={"annual_plan": "99999"}, headers={**reporter, "If-Match": "2"})
    assert over.status_code == 422 and over.json()["errors"][0]["loc"] == ["body", "annual_plan"]
    emptied = await client.patch(
        url, json={"total_investment": None, "name": None}, headers={**reporter, "If-Match": "2"}
    )
    assert emptied.status_code == 422
    assert [e["loc"] for e in emptied.json()["errors"]] == [["body", "name"], ["body", "total_investment"]]


async def _draft(client: AsyncClient, world: World, total: str, unit: str = "A") -> dict[str, Any]:
    made = await client.post(
        "/api/v1/projects",
        json=new_project(world, unit, total_investment=total, annual_plan="0", monthly_plan={}),
        headers=world.auth("p_admin"),
    )
    assert made.status_code == 201, made.text
    return made.json()


async def _approved(client: AsyncClient, world: World, total: str, unit: str = "A") -> str:
    pid = (await _draft(client, world, total, unit))["id"]
    await client.post(f"/api/v1/projects/{pid}/submit", headers=world.auth("p_admin"))
    assert (
        await client.post(f"/api/v1/projects/{pid}/approve", headers=world.auth("p_admin"))
    ).status_code == 200
    return pid


async def test_a_withdrawal_must_not_lower_the_approved_total(client: AsyncClient, world: World) -> None:
    office = world.auth("p_admin")
    stuck = await _approved(client, world, "5000")
    alone = await client.post(
        f"/api/v1/projects/{stuck}/withdraw", json={"reason": "多次督促仍无法推进"}, headers=office
    )
    assert alone.status_code == 409 and "5000" in alone.json()["detail"]
    # no reason (the schema) and a replacement out of sight (the rules): one answer
    both = await client.post(
        f"/api/v1/projects/{stuck}/withdraw",
        json={"reason": "", "replacement_project_ids": [str(uuid.uuid4())]},
        headers=office,
    )
    assert {tuple(e["loc"]) for e in both.json()["errors"]} == {
        ("body", "reason"),
        ("body", "replacement_project_ids", 0),
    }, both.json()
    small = await _draft(client, world, "3000")
    short = await client.post(
        f"/api/v1/projects/{stuck}/withdraw",
        json={"reason": "多次督促仍无法推进", "replacement_project_ids": [small["id"]]},
        headers=office,
    )
    assert short.status_code == 409 and "2000" in short.json()["detail"]
    big = await _draft(client, world, "2500")
    done = await client.post(
        f"/api/v1/projects/{stuck}/withdraw",
        json={"reason": "多次督促仍无法推进", "replacement_project_ids": [small["id"], big["id"]]},
        headers=office,
    )
    assert done.status_code == 200, done.text
    assert Decimal(done.json()["approved_total_after"]) - Decimal(done.json()["approved_total_before"]) == 500
    statuses = {
        pid: (await client.get(f"/api/v1/projects/{pid}", headers=office)).json()["status"]
        for pid in (stuck, small["id"], big["id"])
    }
    assert statuses == {stuck: "withdrawn", small["id"]: "approved", big["id"]: "approved"}
    history = (
        await client.get(f"/api/v1/programs/{world.programs['P'].id}/adjustments", headers=office)
    ).json()["data"]
    assert [(h["withdrawn_project_id"], h["reason"]) for h in history] == [(stuck, "多次督促仍无法推进")]
    again = await client.post(f"/api/v1/projects/{stuck}/withdraw", json={"reason": "x"}, headers=office)
    assert again.status_code == 409


async def test_replacements_must_be_of_the_same_program_and_visible(
    client: AsyncClient, world: World
) -> None:
    stuck = await _approved(client, world, "100")
    r = await client.post(
        f"/api/v1/projects/{stuck}/withdraw",
        json={"reason": "r", "replacement_project_ids": [str(world.projects["QC"].id), str(uuid4())]},
        headers=world.auth("p_admin"),
    )
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [
        ["body", "replacement_project_ids", 0],
        ["body", "replacement_project_ids", 1],
    ]


async def test_the_list_filters_sorts_searches_and_pages(client: AsyncClient, world: World) -> None:
    office = world.auth("p_staff")
    for i, (unit, stage) in enumerate([("A", "construction"), ("A", "planning"), ("B", "construction")]):
        body = new_project(
            world,
            unit,
            code=f"SORT-{i}",
            name=f"项目{i}号",
            stage=stage,
            total_investment=str(100 * (i + 1)),
            annual_plan="0",
            monthly_plan={},
        )
        assert (await client.post("/api/v1/projects", json=body, headers=office)).status_code == 201
    program = world.programs["P"].id
    r = await client.get(
        f"/api/v1/projects?program_id={program}&stage=construction&q=SORT&sort=-total_investment",
        headers=office,
    )
    assert r.status_code == 200
    assert [p["code"] for p in r.json()["data"]] == ["SORT-2", "SORT-0"] and r.json()["count"] == 2
    by_name = await client.get(f"/api/v1/projects?program_id={program}&q=项目1", headers=office)
    assert [p["code"] for p in by_name.json()["data"]] == ["SORT-1"]
    paged = await client.get(
        f"/api/v1/projects?program_id={program}&q=SORT&page=2&page_size=2", headers=office
    )
    assert [p["code"] for p in paged.json()["data"]] == ["SORT-2"] and paged.json()["count"] == 3
    beyond = await client.get(
        f"/api/v1/projects?program_id={program}&q=SORT&page=9&page_size=2", headers=office
    )
    assert beyond.json() == {"data": [], "count": 3}
    county = await client.get(
        f"/api/v1/projects?program_id={program}&q=SORT", headers=world.auth("a_reporter")
    )
    assert {p["code"] for p in county.json()["data"]} == {"SORT-0", "SORT-1"}  # not B's
    bad = await client.get("/api/v1/projects?sort=price", headers=office)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "sort"]


async def test_percent_and_underscore_in_a_search_are_the_text(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    """Searching 50% means projects whose name holds "50%", not every name with a "50" in it."""
    world.projects["A"].name = "完成投资50%的县道"
    world.projects["B"].name = "县道500米改造"
    world.projects["A"].code, world.projects["B"].code = "PJ_A1", "PJXB1"
    await session.commit()
    office = world.auth("p_staff")
    found = {}
    for q in ("50%", "J_", "PJ_A"):
        r = await client.get("/api/v1/projects", params={"q": q}, headers=office)
        found[q] = sorted(p["code"] for p in r.json()["data"])
    assert found == {"50%": ["PJ_A1"], "J_": ["PJ_A1"], "PJ_A": ["PJ_A1"]}
    units = await client.get("/api/v1/units", params={"q": "%"}, headers=office)
    assert units.status_code == 200 and units.json()["count"] == 0
    programs = await client.get("/api/v1/programs", params={"q": "_"}, headers=office)
    assert programs.status_code == 200 and programs.json()["count"] == 0


async def test_a_department_enters_its_own_projects_when_the_program_lets_units(
    client: AsyncClient, world: World, session: AsyncSession, password_hash: str, api_settings: ApiSettings
) -> None:
    """County A's transport department (D) owns and answers for a road: its liaison names county
    A as the region, which lies above D. By default that is outside its sight (422); once the
    program lets units enter their projects, it may — but still answers only for its own."""
    liaison = AppUser(
        username=f"d_reporter-{uuid4().hex[:6]}", display_name="交通局联络员", password_hash=password_hash,
        unit_id=world.units["D"].id, roles=["reporter"],
    )  # fmt: skip
    session.add(liaison)
    await session.commit()
    token, _ = issue_token(api_settings, subject=f"user:{liaison.id}", extra={})
    d = {"Authorization": f"Bearer {token}"}
    road = new_project(
        world, "A", owner_unit_id=str(world.units["D"].id), responsible_unit_id=str(world.units["D"].id)
    )
    refused = await client.post("/api/v1/projects", json=road, headers=d)
    assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == ["body", "region_unit_id"]
    program = world.programs["P"]
    allowed = await client.patch(
        f"/api/v1/programs/{program.id}", json={"units_enter_projects": True},
        headers={**world.auth("p_admin"), "If-Match": str(program.version)},
    )  # fmt: skip
    assert allowed.status_code == 200 and allowed.json()["units_enter_projects"] is True
    entered = await client.post("/api/v1/projects", json=road, headers=d)
    assert entered.status_code == 201, entered.text
    again = {**road, "code": f"LC-{uuid4().hex[:6]}"}
    not_its_own = await client.post(
        "/api/v1/projects", json={**again, "responsible_unit_id": str(world.units["A"].id)}, headers=d
    )
    sideways = await client.post(
        "/api/v1/projects", json={**again, "region_unit_id": str(world.units["B"].id)}, headers=d
    )
    assert not_its_own.status_code == 422 and not_its_own.json()["errors"][0]["loc"] == [
        "body",
        "responsible_unit_id",
    ]
    assert sideways.status_code == 422 and sideways.json()["errors"][0]["loc"] == ["body", "region_unit_id"]
