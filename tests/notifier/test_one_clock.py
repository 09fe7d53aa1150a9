"""One clock under the real sweep: feedback waiting holds it, a return restarts it, a ladder
that lacks a rung a rule starts on is refused, and a chain that reaches a missing rung ends
with a reason instead of being chased for ever."""

from datetime import date

import pytest
from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.notifier.sweep import sweep
from shared import clock
from shared.models import Notice, NoticeChain
from shared.program_settings import default_escalation_policy
from tests.notifier.steps import apply_actions, days, morning, rungs, urged
from tests.world import World, at

WITHOUT_CRITICISM = {
    "levels": [
        lv.model_dump(mode="json") for lv in default_escalation_policy().levels if lv.kind != "criticism"
    ]
}


async def _ladder(session: AsyncSession, chain_id: object) -> list[tuple[str, date, date, str]]:
    return await rungs(session, col(Notice.chain_id) == chain_id)


async def test_feedback_waiting_for_the_office_holds_the_clock_and_a_return_restarts_it(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """County A answers the urging notice (due Friday 28 September) on the 27th. The office does
    not decide for a week and a half: no supervision on the 29th, nor after. On Monday 8 October
    it returns the answer (退办) due in 2 working days (the 10th): the clock restarts from that
    deadline, and supervision fires on the 11th."""
    urging = await urged(session, sessions, approved)
    url = f"/api/v1/notices/{urging.id}"
    with clock.use_clock(at("2018-09-27 10:00")):
        answered = await client.post(
            f"{url}/feedback", json={"text": "已协调，下周报送"}, headers=approved.auth("a_reporter")
        )
    assert answered.status_code == 202
    assert await apply_actions(session, sessions) == ["feedback submitted"]
    await days(sessions, date(2018, 9, 27), date(2018, 10, 8))
    assert await _ladder(session, urging.chain_id) == [
        ("urging", date(2018, 9, 26), date(2018, 9, 28), "feedback_submitted")
    ]
    with clock.use_clock(at("2018-10-08 10:00")):
        returned = await client.post(
            f"{url}/reject", json={"reason": "未说明报送时间", "due_in_working_days": 2},
            headers=approved.auth("p_staff"),
        )  # fmt: skip
    assert returned.status_code == 202 and returned.json()["due_date"] == "2018-10-10"
    await apply_actions(session, sessions)
    await days(sessions, date(2018, 10, 8), date(2018, 10, 11))
    assert await _ladder(session, urging.chain_id) == [
        ("urging", date(2018, 9, 26), date(2018, 10, 10), "superseded"),
        ("supervision", date(2018, 10, 11), date(2018, 10, 17), "issued"),
    ]


async def test_a_ladder_without_a_rung_a_rule_starts_on_is_refused_naming_the_rule(
    client: AsyncClient, world: World
) -> None:
    """Without a criticism rung, the bottom of a ranking has nowhere to go: 422 naming the
    ranking rule, in Chinese when asked; once the office criticises no one, the ladder is taken."""
    url = f"/api/v1/programs/{world.programs['P'].id}"
    admin = world.auth("p_admin")
    refused = await client.patch(
        url, json={"escalation_policy": WITHOUT_CRITICISM}, headers={**admin, "If-Match": "1"}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "escalation_policy"]
    assert "ranking" in refused.json()["detail"] and "criticism" in refused.json()["detail"]
    chinese = await client.patch(
        url,
        json={"escalation_policy": WITHOUT_CRITICISM},
        headers={**admin, "If-Match": "1", "Accept-Language": "zh-CN"},
    )
    assert chinese.status_code == 422 and "通报批评" in chinese.json()["detail"]
    rules = {"criticise_bottom_of_ranking": 0}
    taken = await client.patch(
        url,
        json={"escalation_policy": WITHOUT_CRITICISM, "notice_rules": rules},
        headers={**admin, "If-Match": "1"},
    )
    assert taken.status_code == 200, taken.text
    kinds = [lv["kind"] for lv in taken.json()["escalation_policy"]["levels"]]
    assert "criticism" not in kinds and taken.json()["notice_rules"]["criticise_bottom_of_ranking"] == 0
    notice = {
        "program_id": str(world.programs["P"].id), "kind": "supervision",
        "recipient_unit_id": str(world.units["A"].id), "subject": {"type": "instruction"},
        "requirements": "落实批示", "due_in_working_days": 3,
    }  # fmt: skip
    urging_gone = {"levels": [lv for lv in WITHOUT_CRITICISM["levels"] if lv["kind"] == "supervision"]}
    narrowed = await client.patch(
        url,
        json={"escalation_policy": urging_gone, "notice_rules": rules | _all_rules_off()},
        headers={**admin, "If-Match": "2"},
    )
    assert narrowed.status_code == 200, narrowed.text
    urging = await client.post("/api/v1/notices", json={**notice, "kind": "urging"}, headers=admin)
    assert urging.status_code == 422 and urging.json()["errors"][0]["loc"] == ["body", "kind"]
    assert (await client.post("/api/v1/notices", json=notice, headers=admin)).status_code == 202


def _all_rules_off() -> dict[str, object]:
    off = {"enabled": False}
    names = (
        "report_due",
        "milestone_due",
        "problem_overdue",
        "investment_behind",
        "not_moving",
        "moving_slowly",
        "visit_due",
    )
    return {name: off for name in names}


async def test_a_chain_whose_ladder_lacks_its_rung_is_closed_with_a_reason_not_chased_for_ever(
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """A criticism chain kept a ladder with no criticism rung (a program's ladder from before
    the check, or changed under it): the first sweep closes it, `no_rung`, with no notice; the
    sweeps after it no longer read it."""
    chain = NoticeChain(
        program_id=approved.programs["P"].id, rule="ranking", subject_type="unit",
        subject_id=approved.units["A"].id, schedule_kind="ranking", period="2018-Q3",
        recipient_unit_id=approved.units["A"].id, due_date=date(2018, 10, 12), policy=WITHOUT_CRITICISM,
        start_kind="criticism", next_level_on=date(2018, 10, 12), state="open",
        opened_at=morning(date(2018, 10, 12)), title="A 在 2018-Q3 观摩评比中排名末位",
    )  # fmt: skip
    session.add(chain)
    await session.commit()
    first = await sweep(sessions, morning(date(2018, 10, 15)))
    await session.refresh(chain)
    assert (chain.state, chain.closed_reason, chain.next_level_on) == ("closed", "no_rung", None)
    assert first["closed"] >= 1 and await _ladder(session, chain.id) == []
    still = await session.scalar(
        select(NoticeChain).where(
            col(NoticeChain.state) == "open", col(NoticeChain.start_kind) == "criticism"
        )
    )
    assert still is None


async def test_every_writer_closes_with_a_reason_the_database_knows(
    approved: World, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A close reason outside ChainClosed is refused by the table itself."""
    await days(sessions, date(2018, 9, 26), date(2018, 9, 26))
    chain_id = await session.scalar(select(col(NoticeChain.id)).where(col(NoticeChain.state) == "open"))
    assert chain_id is not None
    with pytest.raises(IntegrityError, match="ck_notice_chain_closed_reason"):
        await session.execute(
            update(NoticeChain).where(col(NoticeChain.id) == chain_id).values(closed_reason="because")
        )
