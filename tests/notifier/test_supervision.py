"""Standing supervision teams on the one clock: a team's visit due by its cadence is reminded to
its leader's unit and urged on the right working days through the 2018 National Day holiday, and
the visit made ends the chain; a visit's findings are notices that climb the ladder like any other
until the office confirms the rectification."""

import uuid
from datetime import date

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.notifier.sweep import sweep
from shared import clock
from shared.models import Notice, NoticeChain, Visit
from tests.notifier.steps import apply_actions, days, morning, rungs
from tests.world import World, at


async def test_a_visit_due_in_the_national_day_week_is_reminded_then_urged_on_working_days(
    world: World, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """On-site every 19 working days after the last on-site visit (Tuesday 4 September): due
    on the make-up Sunday 30 September (the Mid-Autumn Monday the 24th is off). The reminder comes
    2 working days before (Friday the 28th), urging the first working day after (Monday 8 October,
    past the holiday week), to the leader's unit (the province office); the visit made on the 9th
    ends the chain."""
    team = world.teams["A"]
    team.cadence = [{"kind": "on_site", "every_working_days": 19}]
    await session.commit()
    await days(sessions, date(2018, 9, 20), date(2018, 10, 8))
    assert await rungs(session, col(Notice.subject_id) == team.id) == [
        ("reminder", date(2018, 9, 28), date(2018, 9, 30), "superseded"),
        ("urging", date(2018, 10, 8), date(2018, 10, 10), "issued"),
    ]
    chain = await session.scalar(select(NoticeChain).where(col(NoticeChain.subject_id) == team.id))
    assert chain is not None and chain.recipient_unit_id == world.units["P"].id
    assert chain.rule == "visit_due" and "组长 p_staff" in chain.title and "现场督查" in chain.title
    session.add(
        Visit(program_id=team.program_id, team_id=team.id, kind="on_site", visited_on=date(2018, 10, 9),
              created_by="test")
    )  # fmt: skip
    await session.commit()
    await sweep(sessions, morning(date(2018, 10, 9)))
    await session.refresh(chain)
    assert (chain.state, chain.closed_reason) == ("closed", "visit_made")
    assert [s for *_, s in await rungs(session, col(Notice.subject_id) == team.id)] == [
        "superseded",
        "closed",
    ]


async def test_a_visits_two_findings_climb_the_ladder_until_the_office_confirms_rectification(
    client: AsyncClient, world: World, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Tuesday 9 October: a major finding for county A (3 working days: urging due Friday the 12th)
    and a critical one for its transport department D (2 working days: supervision due Thursday
    the 11th). A's climbs to supervision on Monday the 15th and stops when the office confirms it
    on the 16th; D's goes on to criticism on the 12th and interview on the 26th."""
    project, task = str(world.projects["A"].id), str(world.tasks["P"].id)
    body = {
        "team_id": str(world.teams["A"].id), "kind": "on_site", "date": "2018-10-09",
        "project_ids": [project],
        "findings": [
            {"unit_id": str(world.units["A"].id), "project_id": project, "severity": "major",
             "requirement": "施工扬尘治理不到位，限期整改", "due_in_working_days": 3},
            {"unit_id": str(world.units["D"].id), "task_id": task, "severity": "critical",
             "requirement": "路网建设台账缺失", "due_in_working_days": 2},
        ],
    }  # fmt: skip
    with clock.use_clock(at("2018-10-09 10:00")):
        r = await client.post("/api/v1/visits", json=body, headers=world.auth("p_staff"))
    assert r.status_code == 201, r.text
    a_finding, d_finding = r.json()["findings"]
    assert await apply_actions(session, sessions, "issue_notice") == ["issued", "issued"]
    first = {n.id: n for n in await session.scalars(select(Notice).where(col(Notice.level) >= 0))}
    a_notice, d_notice = first[uuid.UUID(a_finding["notice_id"])], first[uuid.UUID(d_finding["notice_id"])]
    assert (a_notice.kind, a_notice.recipient_unit_id) == ("urging", world.units["A"].id)
    assert (d_notice.kind, d_notice.recipient_unit_id) == ("supervision", world.units["D"].id)
    await days(sessions, date(2018, 10, 10), date(2018, 10, 15))
    with clock.use_clock(at("2018-10-16 10:00")):
        confirmed = await client.post(
            f"/api/v1/findings/{a_finding['id']}/confirm", headers=world.auth("p_admin")
        )
        twice = await client.post(
            f"/api/v1/findings/{a_finding['id']}/confirm", headers=world.auth("p_admin")
        )
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "rectified"
    assert twice.status_code == 409
    assert await apply_actions(session, sessions, "finding_rectified") == ["chain closed"]
    await days(sessions, date(2018, 10, 16), date(2018, 10, 31))
    assert await rungs(session, col(Notice.chain_id) == a_notice.chain_id) == [
        ("urging", date(2018, 10, 9), date(2018, 10, 12), "superseded"),
        ("supervision", date(2018, 10, 15), date(2018, 10, 19), "closed"),
    ]
    chain = await session.get_one(NoticeChain, a_notice.chain_id, populate_existing=True)
    assert (chain.state, chain.closed_reason, chain.rule) == ("closed", "rectified", "finding")
    assert [(k, d) for k, d, _, _ in await rungs(session, col(Notice.chain_id) == d_notice.chain_id)] == [
        ("supervision", date(2018, 10, 9)),
        ("criticism", date(2018, 10, 12)),
        ("interview", date(2018, 10, 26)),
    ]
    # the unit reads its notice with what it is about
    last = await session.scalar(
        select(Notice).where(col(Notice.chain_id) == a_notice.chain_id, col(Notice.kind) == "supervision")
    )
    assert last is not None
    seen = await client.get(f"/api/v1/notices/{last.id}", headers=world.auth("a_reporter"))
    assert seen.status_code == 200 and seen.json()["closed_reason"] == "rectified"
    assert seen.json()["subject"] == {"type": "project", "id": project, "period": None}
