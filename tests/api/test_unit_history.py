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


async def test_a_countys_paper_reports_import_from_a_sheet_and_nothing_is_chased(
    client: AsyncClient, approved: World, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The office imports county A's paper reports of March (the monthly and the week of the 26th)
    with their filing times; a sheet with one unknown unit files nothing and names the row."""
    world = approved
    code = world.units["A"].code

    def sheet(*rows: str) -> bytes:
        return ("单位编码,报告类型,期次,报送时间,报告内容\n" + "".join(f"{r}\n" for r in rows)).encode()

    good = [
        f"{code},月报,2018-03,2018-04-02 10:00,三月份工作总结",
        f"{code},周报,2018-W13,2018-04-02 10:05,第13周工作",
    ]
    with clock.use_clock(at("2018-04-10 09:00")):
        template = await client.get("/api/v1/reports/unit-template.xlsx", headers=world.auth("p_staff"))
        wrong = sheet(*good, "NOPE,月报,2018-03,,x")
        bad = await client.post(
            "/api/v1/reports/unit-import",
            files={"file": ("u.csv", wrong, "text/csv")},
            headers=world.auth("p_staff"),
        )
        county = await client.post(
            "/api/v1/reports/unit-import", files={"file": ("u.csv", sheet(*good), "text/csv")},
            headers=world.auth("a_reporter"),
        )  # fmt: skip
        done = await client.post(
            "/api/v1/reports/unit-import", files={"file": ("u.csv", sheet(*good), "text/csv")},
            headers=world.auth("p_staff"),
        )  # fmt: skip
    assert template.status_code == 200
    assert bad.status_code == 422 and [(e["row"], e["column"]) for e in bad.json()["errors"]] == [
        (4, "单位编码")
    ]
    assert county.status_code == 422 and {e["column"] for e in county.json()["errors"]} == {"报送时间"}
    assert done.status_code == 200 and done.json()["created"] == 2, done.text
    await sweep(sessions, datetime.combine(date(2018, 4, 10), time(9), OFFICE_TZ))
    chased = (
        await session.scalars(
            select(col(NoticeChain.period)).where(
                col(NoticeChain.subject_id) == world.units["A"].id,
                col(NoticeChain.period).in_(["2018-03", "2018-W13"]),
            )
        )
    ).all()
    assert chased == []
