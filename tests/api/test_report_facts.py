"""Report facts have one definition (shared.report_facts): the filing function's investment to
date agrees with it, and many projects' indicators in one statement equal each one's alone."""

from datetime import date
from decimal import Decimal

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import calendar, clock, indicators
from shared import report_facts as facts
from shared.models import Milestone, ProjectReport
from tests.world import World, at


async def _file(
    client: AsyncClient, world: World, project: str, period: str, money: str, **extra: object
) -> dict:
    r = await client.post(
        f"/api/v1/projects/{world.projects[project].id}/reports",
        json={"period": period, "investment_month": money, "progress_percent": "10", **extra},
        headers=world.auth("p_admin"),
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_the_filing_sums_to_date_as_the_report_facts_do(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    """Corrections of earlier months in any order: each filing's investment to date is what
    report_facts.investment says once it is filed (latest version of every period)."""
    world.projects["A"].status = "approved"
    await session.commit()
    project_id = world.projects["A"].id
    steps = [("2018-01", "10"), ("2018-02", "20"), ("2018-03", "30"), ("2018-01", "15"), ("2018-02", "5")]
    with clock.use_clock(at("2018-04-10 09:00")):
        for period, money in steps:
            filed = await _file(client, world, "A", period, money)
            latest = facts.latest_versions(ProjectReport.project_id == project_id).subquery()
            row = (await session.execute(facts.investment(latest, year=2018, month="2018-12"))).one()
            assert Decimal(filed["investment_to_date"]) == row.to_date
    assert row.to_date == Decimal("50.00")  # 15 + 5 + 30


async def test_indicators_of_many_projects_in_one_statement_equal_each_alone(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    for name in ("A", "B"):
        world.projects[name].status = "approved"
    session.add(Milestone(project_id=world.projects["A"].id, name="开工", planned_date=date(2018, 3, 1)))
    session.add(Milestone(project_id=world.projects["B"].id, name="开工", planned_date=date(2018, 5, 1)))
    await session.commit()
    with clock.use_clock(at("2018-03-20 09:00")):
        await _file(
            client, world, "A", "2018-02", "40", milestones=[{"name": "开工", "actual_date": "2018-02-27"}]
        )
        await _file(client, world, "B", "2018-02", "70")
    with clock.use_clock(at("2018-04-25 09:00")):
        await _file(client, world, "A", "2018-03", "60")
        await _file(client, world, "B", "2018-02", "80")  # a correction
    program = world.programs["P"]
    cal = await calendar.load(session, [program.year])
    ids = [world.projects["A"].id, world.projects["B"].id]
    for when in ("2018-03-21 00:00", "2018-06-01 00:00"):
        as_of = at(when).now()
        many = await indicators.compute_many(
            session, program=program, calendar=cal, as_of=as_of, project_ids=ids
        )
        assert set(many) == set(ids)
        for name in ("A", "B"):
            project = world.projects[name]
            alone = await indicators.compute(
                session, project=project, program=program, calendar=cal, as_of=as_of
            )
            assert many[project.id] == alone
    # and what they say, as of June: A met its milestone on time, B missed its own
    a, b = many[ids[0]], many[ids[1]]
    assert (a.investment_to_date, a.milestone_rate) == (Decimal("100.00"), Decimal("100.00"))
    assert (b.investment_to_date, b.milestone_rate) == (Decimal("80.00"), Decimal("0.00"))
    assert [m.state for m in b.milestones] == ["missed"]
    assert (
        await session.scalar(
            select(ProjectReport.version)
            .where(ProjectReport.project_id == ids[1])
            .order_by(ProjectReport.version.desc())
            .limit(1)
        )
        == 2
    )
