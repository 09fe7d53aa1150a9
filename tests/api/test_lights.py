"""Project lights (红黄绿灯) on hand-set cases of a 2018 program: a late start, a start that never
came, progress 12 and 31 points behind 序时进度, overdue reports, a problem past its deadline and
a standing supervision notice; each judged as of an instant, on the lights endpoint and on the
project rows."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.notifier.sweep import sweep
from shared import clock
from shared.models import Notice, NoticeChain, Problem, Project
from tests.world import World, at


def _project(world: World, code: str, **extra: Any) -> Project:
    fields: dict[str, Any] = {
        "program_id": world.programs["P"].id, "code": code, "name": f"项目{code}", "category": "现代基础设施",
        "region_unit_id": world.units["A"].id, "owner_unit_id": world.units["A"].id,
        "responsible_unit_id": world.units["A"].id, "leader": {"name": "张三", "title": "副县长"},
        "construction": "new", "stage": "construction", "status": "approved",
        "total_investment": Decimal("5000"), "annual_plan": Decimal("1200"),
        "start_date": date(2018, 1, 1), "end_date": date(2019, 12, 31), "created_by": "test",
    }  # fmt: skip
    return Project(**{**fields, **extra})


async def _file(
    client: AsyncClient, world: World, project: Project, month: int, amount: str, progress: str
) -> None:
    with clock.use_clock(at(f"2018-{month:02d}-20 10:00")):
        answer = await client.post(
            f"/api/v1/projects/{project.id}/reports",
            json={"period": f"2018-{month:02d}", "investment_month": amount, "progress_percent": progress},
            headers=world.auth("a_reporter"),
        )
    assert answer.status_code == 201, answer.text


async def _lights(client: AsyncClient, world: World, as_of: str, **query: str) -> dict[str, Any]:
    answer = await client.get(
        f"/api/v1/programs/{world.programs['P'].id}/lights",
        params={"as_of": as_of, **query},
        headers=world.auth("p_staff"),
    )
    assert answer.status_code == 200, answer.text
    return {row["code"]: row for row in answer.json()["data"]}


async def test_a_start_one_month_late_is_yellow_and_none_three_months_after_plan_is_red(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    late = _project(world, "LATE", start_date=date(2018, 3, 1))
    never = _project(world, "NEVER", start_date=date(2018, 3, 1))
    on_time = _project(world, "ONTIME", start_date=date(2018, 3, 1))
    continuing = _project(world, "CONT", start_date=date(2017, 3, 1), construction="continuing")
    session.add_all([late, never, on_time, continuing])
    await session.commit()
    # before the year nothing is owed: every project is judged all the same
    assert (await _lights(client, world, "2017-12-30"))["LATE"]["light"] == "green"
    await _file(client, world, late, 3, "0", "0")  # filed, nothing moved: not started
    await _file(client, world, late, 4, "50", "2")  # started in April, planned March
    await _file(client, world, on_time, 3, "80", "3")

    april = await _lights(client, world, "2018-04-05")
    assert april["NEVER"]["dimensions"]["start"]["light"] == "yellow"  # March passed, not started
    assert april["ONTIME"]["dimensions"]["start"]["light"] == "green"
    assert april["CONT"]["dimensions"]["start"]["light"] == "green"  # 续建: started long ago
    may = await _lights(client, world, "2018-05-10")
    assert may["LATE"]["dimensions"]["start"] == {
        "light": "yellow",
        "detail": "started in 2018-04, 1 months late",
    }
    assert may["NEVER"]["dimensions"]["start"]["light"] == "yellow"
    june = await _lights(client, world, "2018-06-01")
    assert june["NEVER"]["dimensions"]["start"] == {
        "light": "red",
        "detail": "not started, 3 months after the planned start (2018-03)",
    }
    assert june["NEVER"]["light"] == "red"
    # as known then: on 2018-04-10 the April report was not yet filed, so LATE had not started
    assert (await _lights(client, world, "2018-04-10"))["LATE"]["dimensions"]["start"]["light"] == "yellow"
    assert (await _lights(client, world, "2018-03-25"))["LATE"]["dimensions"]["start"]["light"] == "green"


async def test_progress_12_points_behind_is_yellow_and_31_is_red(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    # as of 5 July six months have ended: 序时进度 50 %; the annual plan is 1200
    ahead, behind12, behind31 = (_project(world, code) for code in ("AHEAD", "B12", "B31"))
    session.add_all([ahead, behind12, behind31])
    await session.commit()
    for project, monthly in ((ahead, "110"), (behind12, "76"), (behind31, "38")):
        for month in range(1, 7):
            await _file(client, world, project, month, monthly, str(month * 5))
    rows = await _lights(client, world, "2018-07-05")
    assert rows["AHEAD"]["dimensions"]["progress"] == {
        "light": "green",
        "detail": "55.00% of the annual plan against 序时进度 50.00%: 5.00 points ahead",
    }
    assert rows["AHEAD"]["light"] == "green" and set(rows["AHEAD"]["dimensions"]) == {
        "start", "progress", "reports", "problems", "notices",
    }  # fmt: skip
    assert rows["B12"]["dimensions"]["progress"]["light"] == "yellow"  # 38 % done: 12 behind
    assert "12.00 points behind" in rows["B12"]["dimensions"]["progress"]["detail"]
    assert rows["B31"]["dimensions"]["progress"]["light"] == "red"  # 19 % done: 31 behind
    assert rows["B31"]["light"] == "red"
    reds = await _lights(client, world, "2018-07-05", light="red")
    assert "B31" in reds and "AHEAD" not in reds and "B12" not in reds
    yellow_progress = await _lights(client, world, "2018-07-05", light="yellow", dimension="progress")
    assert set(yellow_progress) == {"B12"}

    # the light rides on the project's rows
    with clock.use_clock(at("2018-07-05 12:00")):
        detail = await client.get(f"/api/v1/projects/{behind31.id}", headers=world.auth("p_staff"))
        listed = await client.get(
            "/api/v1/projects",
            params={"program_id": str(world.programs["P"].id)},
            headers=world.auth("p_staff"),
        )
    assert detail.json()["light"] == "red"
    by_code = {r["code"]: r["light"] for r in listed.json()["data"]}
    assert by_code["AHEAD"] == "green" and by_code["B12"] == "yellow" and by_code["B31"] == "red"
    assert by_code["PJ-A"] is None  # not approved: no light


async def test_overdue_reports_late_problems_and_standing_supervision_light_up(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    one, two = _project(world, "ONE"), _project(world, "TWO")
    session.add_all([one, two])
    await session.commit()
    for month in range(1, 4):  # ONE files January to March, TWO only January
        await _file(client, world, one, month, "100", str(month))
    await _file(client, world, two, 1, "100", "1")
    rows = await _lights(client, world, "2018-03-25")
    assert rows["ONE"]["dimensions"]["reports"]["light"] == "green"
    assert rows["TWO"]["dimensions"]["reports"] == {"light": "red", "detail": "2 overdue"}
    assert (await _lights(client, world, "2018-02-25"))["TWO"]["dimensions"]["reports"]["light"] == "yellow"

    session.add(
        Problem(
            program_id=world.programs["P"].id, project_id=one.id, owner_unit_id=world.units["A"].id,
            title="征地受阻", deadline=date(2018, 3, 20), raised_at=datetime(2018, 3, 1, tzinfo=UTC),
            state="resolved", resolved_at=datetime(2018, 4, 2, tzinfo=UTC),
        )
    )  # fmt: skip
    chain = NoticeChain(
        program_id=world.programs["P"].id, rule="report_due", subject_type="project", subject_id=two.id,
        schedule_kind="project_monthly", period="2018-02", recipient_unit_id=world.units["A"].id,
        due_date=date(2018, 2, 22), policy={}, level=2, opened_at=datetime(2018, 2, 23, tzinfo=UTC),
        closed_at=datetime(2018, 4, 1, tzinfo=UTC), state="closed",
    )  # fmt: skip
    session.add(chain)
    await session.flush()
    for kind, level, day in (("urging", 1, 23), ("supervision", 2, 28)):
        session.add(
            Notice(
                chain_id=chain.id, program_id=chain.program_id, kind=kind, level=level,
                recipient_unit_id=world.units["A"].id, recipient="unit", subject_type="project",
                subject_id=two.id, period="2018-02", requirements="请报送",
                issued_on=date(2018, 2, day), issued_at=datetime(2018, 2, day, 1, tzinfo=UTC),
                due_date=date(2018, 3, 9),
            )
        )  # fmt: skip
    await session.commit()
    march = await _lights(client, world, "2018-03-25")
    assert march["ONE"]["dimensions"]["problems"] == {"light": "red", "detail": "1 open past deadline"}
    assert march["TWO"]["dimensions"]["notices"] == {
        "light": "red",
        "detail": "highest standing notice: supervision",
    }
    feb = await _lights(client, world, "2018-02-25")  # only the urging stood then: not red
    assert feb["TWO"]["dimensions"]["notices"]["light"] == "green"
    april = await _lights(client, world, "2018-04-05")  # resolved, closed: both green again
    assert april["ONE"]["dimensions"]["problems"]["light"] == "green"
    assert april["TWO"]["dimensions"]["notices"] == {"light": "green", "detail": "none standing"}


async def test_thresholds_are_program_settings_and_a_county_sees_its_own(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    mine = _project(world, "MINE", start_date=date(2018, 3, 1))
    theirs = _project(world, "THEIRS", start_date=date(2018, 3, 1), region_unit_id=world.units["B"].id,
                      owner_unit_id=world.units["B"].id, responsible_unit_id=world.units["B"].id)  # fmt: skip
    session.add_all([mine, theirs])
    await session.commit()
    program = world.programs["P"]
    got = await client.get(f"/api/v1/programs/{program.id}", headers=world.auth("p_admin"))
    assert got.json()["lights"]["start_red_months"] == 3
    bad = await client.patch(
        f"/api/v1/programs/{program.id}",
        json={"lights": {"start_yellow_months": 4, "start_red_months": 2}},
        headers={**world.auth("p_admin"), "If-Match": got.headers["ETag"]},
    )
    assert bad.status_code == 422 and "start_red_months" in bad.text
    changed = await client.patch(
        f"/api/v1/programs/{program.id}",
        json={"lights": {"start_yellow_months": 1, "start_red_months": 2}},
        headers={**world.auth("p_admin"), "If-Match": got.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    rows = await _lights(client, world, "2018-05-05")
    assert rows["MINE"]["dimensions"]["start"]["light"] == "red"  # two months now suffice

    county = await client.get(
        f"/api/v1/programs/{program.id}/lights",
        params={"as_of": "2018-05-05"},
        headers=world.auth("a_reporter"),
    )
    assert [r["code"] for r in county.json()["data"]] == ["MINE"]
    wrong = await client.get(
        f"/api/v1/programs/{program.id}/lights", params={"light": "purple"}, headers=world.auth("p_staff")
    )
    assert wrong.status_code == 422


async def test_a_project_turning_red_opens_a_chain_when_the_rule_is_on_and_it_closes_once_not_red(
    client: AsyncClient, world: World, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    never = _project(world, "RED", start_date=date(2018, 3, 1))
    session.add(never)
    await session.commit()
    project_id, program_id = never.id, world.programs["P"].id
    await sweep(sessions, at("2018-06-04 10:00").now())
    assert await _red_chains(session, project_id) == []  # off by default: the lights inform first
    got = await client.get(f"/api/v1/programs/{program_id}", headers=world.auth("p_admin"))
    on = await client.patch(
        f"/api/v1/programs/{program_id}",
        json={"notice_rules": {"red_light": {"enabled": True}}},
        headers={**world.auth("p_admin"), "If-Match": got.headers["ETag"]},
    )
    assert on.status_code == 200, on.text
    await sweep(sessions, at("2018-06-04 10:00").now())
    [(state, _, title)] = await _red_chains(session, project_id)
    assert state == "open" and "亮红灯（逾期未开工、投资严重滞后于序时进度、多期逾期未报）" in title
    for month in (3, 4, 5):  # filed late, moving: started late (yellow), 25 % against 41.67 % (yellow)
        with clock.use_clock(at("2018-06-05 09:00")):
            filed = await client.post(
                f"/api/v1/projects/{project_id}/reports",
                json={"period": f"2018-{month:02d}", "investment_month": "100", "progress_percent": "5"},
                headers=world.auth("a_reporter"),
            )
        assert filed.status_code == 201, filed.text
    assert (await _lights(client, world, "2018-06-05T10:00:00+08:00"))["RED"]["light"] == "yellow"
    await sweep(sessions, at("2018-06-05 10:00").now())
    assert await _red_chains(session, project_id) == [("closed", "light_cleared", title)]


async def _red_chains(session: AsyncSession, project_id: uuid.UUID) -> list[tuple[str, str | None, str]]:
    rows = await session.execute(
        select(col(NoticeChain.state), col(NoticeChain.closed_reason), col(NoticeChain.title)).where(
            col(NoticeChain.rule) == "red_light", col(NoticeChain.subject_id) == project_id
        )
    )
    return [(state, reason, title) for state, reason, title in rows]
