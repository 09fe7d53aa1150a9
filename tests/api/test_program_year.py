"""A program's year ends: the office closes it (read-only, chased no more), a live sweep years
later leaves a year long past alone, and continuing projects (续建) carry over into the next."""

from datetime import date, datetime, time

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.notifier.sweep import sweep
from shared import clock
from shared.clock import OFFICE_TZ
from shared.models import Milestone, Notice, NoticeChain, Program, Project
from tests.world import World, at


def _morning(day: date) -> datetime:
    return datetime.combine(day, time(9), OFFICE_TZ)


async def _chains(session: AsyncSession, world: World, **where: str) -> list[tuple[str, str | None]]:
    rows = await session.execute(
        select(col(NoticeChain.state), col(NoticeChain.closed_reason))
        .where(col(NoticeChain.program_id) == world.programs["P"].id, col(NoticeChain.period) != "2018-08")
        .filter_by(**where)
        .execution_options(populate_existing=True)
    )
    return sorted((s, r) for s, r in rows.all())


async def test_a_closed_year_is_read_only_and_chased_no_more(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Before its annual assessment the office closes 2018 only by force, with a reason. From
    then on every write into the program is 409 with its date, and the next sweep ends the open
    chains (`program_closed`) and opens none."""
    world = approved
    url = f"/api/v1/programs/{world.programs['P'].id}"
    admin = world.auth("p_admin")
    await sweep(sessions, _morning(date(2018, 9, 26)))
    assert ("open", None) in await _chains(session, world)
    with clock.use_clock(at("2018-10-08 10:00")):
        early = await client.post(f"{url}/close", json={}, headers=admin)
        reasonless = await client.post(f"{url}/close", json={"force": True}, headers=admin)
        county = await client.post(
            f"{url}/close", json={"force": True, "reason": "x"}, headers=world.auth("a_reporter")
        )
        closed = await client.post(
            f"{url}/close", json={"force": True, "reason": "机构调整，提前结束"}, headers=admin
        )
        again = await client.post(f"{url}/close", json={"force": True, "reason": "再关"}, headers=admin)
    assert early.status_code == 409 and "annual assessment" in early.json()["detail"]
    assert reasonless.status_code == 422 and reasonless.json()["errors"][0]["loc"] == ["body", "reason"]
    assert county.status_code == 403 and again.status_code == 409
    assert closed.status_code == 200, closed.text
    assert (
        closed.json()["closed_at"].startswith("2018-10-08")
        and closed.json()["closed_reason"] == "机构调整，提前结束"
    )
    with clock.use_clock(at("2018-10-09 10:00")):
        writes = {
            "settings": await client.patch(url, json={"name": "改名"}, headers={**admin, "If-Match": "2"}),
            "task": await client.post(
                f"{url}/tasks",
                json={"number": "9", "title": "补充任务", "responsible_unit_ids": [str(world.units["A"].id)]},
                headers=admin,
            ),
            "report": await client.post(
                f"/api/v1/projects/{world.projects['A'].id}/reports",
                json={"period": "2018-09", "investment_month": "80", "progress_percent": "40"},
                headers=world.auth("a_reporter"),
            ),
            "notice": await client.post(
                "/api/v1/notices",
                json={"program_id": str(world.programs["P"].id), "kind": "urging",
                      "recipient_unit_id": str(world.units["A"].id), "subject": {"type": "instruction"},
                      "requirements": "落实批示", "due_in_working_days": 3},
                headers=world.auth("p_staff"),
            ),
        }  # fmt: skip
    assert {k: r.status_code for k, r in writes.items()} == dict.fromkeys(writes, 409)
    assert all("2018-10-08" in r.json()["detail"] for r in writes.values())
    await sweep(sessions, _morning(date(2018, 10, 9)))
    assert set(await _chains(session, world)) == {("closed", "program_closed")}
    issued = await session.scalar(
        select(func.count()).where(
            col(Notice.program_id) == world.programs["P"].id, col(Notice.issued_on) >= date(2018, 10, 9)
        )
    )
    assert issued == 0


async def test_a_year_long_past_is_not_chased_live_unless_the_office_says_so(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The 2018 program, never closed, with the worker running in December 2026: no chain opens
    (no interview summons for 2018's weekly reports). Replaying 2018 still chases 2018; an office
    that says to chase on (`chase_months_after_year: null`) gets its chains."""
    world = approved
    now = _morning(date(2026, 12, 3))
    await sweep(sessions, now)
    assert await _chains(session, world) == []
    await sweep(sessions, _morning(date(2018, 9, 26)))  # a replay of 2018 is chased as 2018 was
    assert ("open", None) in await _chains(session, world)
    program = await session.get_one(Program, world.programs["P"].id)
    rules = dict(program.settings["notice_rules"]) | {"chase_months_after_year": None}
    with clock.use_clock(at("2026-12-03 10:00")):
        said = await client.patch(
            f"/api/v1/programs/{program.id}", json={"notice_rules": rules},
            headers={**world.auth("p_admin"), "If-Match": str(program.version)},
        )  # fmt: skip
    assert said.status_code == 200, said.text
    before = len(await _chains(session, world))
    await sweep(sessions, now)
    assert len(await _chains(session, world)) > before


async def test_continuing_projects_carry_over_into_next_years_program(
    client: AsyncClient, approved: World, session: AsyncSession
) -> None:
    """Project A (approved, under construction) continues into 2019 with its leader and the
    milestone not yet met, as a draft whose annual plan the county fills; project B (never
    approved) does not. Carrying over again copies nothing twice; into an earlier year, 422."""
    world = approved
    session.add(
        Milestone(
            project_id=world.projects["A"].id,
            name="开工",
            planned_date=date(2018, 4, 1),
            actual_date=date(2018, 4, 2),
        )
    )
    session.add(
        Milestone(
            project_id=world.projects["A"].id, name="主体完工", planned_date=date(2019, 6, 30), position=1
        )
    )
    await session.commit()  # fmt: skip
    admin = world.auth("p_admin")
    with clock.use_clock(at("2018-12-20 10:00")):
        created = await client.post(
            "/api/v1/programs",
            json={"code": f"{world.programs['P'].code}-2019", "name": "百城建设提质工程 2019", "year": 2019,
                  "office_unit_id": str(world.units["P"].id), "categories": ["现代基础设施"]},
            headers=admin,
        )  # fmt: skip
        assert created.status_code == 201, created.text
        url = f"/api/v1/programs/{world.programs['P'].id}/carry-over"
        carried = await client.post(url, json={"to_program_id": created.json()["id"]}, headers=admin)
        again = await client.post(url, json={"to_program_id": created.json()["id"]}, headers=admin)
        backwards = await client.post(
            f"/api/v1/programs/{created.json()['id']}/carry-over",
            json={"to_program_id": str(world.programs["P"].id)}, headers=admin,
        )  # fmt: skip
    assert carried.status_code == 200, carried.text
    assert (carried.json()["carried"], again.json()["carried"], again.json()["already"]) == (1, 0, 1)
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["loc"] == ["body", "to_program_id"]
    [copy] = (
        await session.scalars(select(Project).where(col(Project.program_id) == created.json()["id"]))
    ).all()
    assert (copy.code, copy.status, copy.annual_plan, copy.leader["name"]) == ("PJ-A", "draft", 0, "张三")
    assert copy.carried_from_id == world.projects["A"].id
    kept = (await session.scalars(select(Milestone).where(col(Milestone.project_id) == copy.id))).all()
    assert [m.name for m in kept] == ["主体完工"]
