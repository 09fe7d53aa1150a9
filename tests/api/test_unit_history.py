"""A county going live in April enters the unit reports filed on paper before it as history: the
office gives each its original filing time, and nothing is chased for those periods."""

from datetime import date, datetime, time

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.notifier.sweep import sweep
from shared import clock
from shared.clock import OFFICE_TZ
from shared.models import NoticeChain
from tests.world import World, at


async def test_unit_reports_entered_as_history_are_not_chased(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """County A's March monthly report went in on paper on 2 April; the office enters it on
    the 10th with that time. It counts as filed on the 2nd (on time), and the sweep of the 10th
    chases county B's March report, not A's. Only the office gives filed_at; an instant report
    and a time in the future are refused."""
    world = approved
    world.projects["B"].status = "approved"  # so county B owes unit reports too
    await session.commit()
    url = f"/api/v1/units/{world.units['A'].id}/reports"
    body = {
        "kind": "monthly",
        "period": "2018-03",
        "body": "三月份工作总结（纸质报送）",
        "filed_at": "2018-04-02T10:00:00+08:00",
    }
    with clock.use_clock(at("2018-04-10 09:00")):
        county = await client.post(url, json=body, headers=world.auth("a_reporter"))
        instant = await client.post(
            url, json={**body, "kind": "instant", "period": None}, headers=world.auth("p_staff")
        )
        future = await client.post(
            url, json={**body, "filed_at": "2018-04-11T10:00:00+08:00"}, headers=world.auth("p_staff")
        )
        entered = await client.post(url, json=body, headers=world.auth("p_staff"))
    assert county.status_code == 403 and "filed_at" in county.json()["detail"]
    assert instant.status_code == 422 and future.status_code == 422
    assert entered.status_code == 201, entered.text
    assert entered.json()["recorded_by_office"] is True and entered.json()["submitted_at"].startswith(
        "2018-04-02"
    )
    await sweep(sessions, datetime.combine(date(2018, 4, 10), time(9), OFFICE_TZ))
    chased = set(
        (
            await session.execute(
                select(col(NoticeChain.subject_id), col(NoticeChain.period)).where(
                    col(NoticeChain.schedule_kind) == "unit_monthly", col(NoticeChain.period) == "2018-03",
                    col(NoticeChain.program_id) == world.programs["P"].id,
                )
            )
        ).all()
    )  # fmt: skip
    assert (world.units["B"].id, "2018-03") in chased and (world.units["A"].id, "2018-03") not in chased
