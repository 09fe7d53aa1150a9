"""Beyond reports: the rules that find missed milestones, problems past their deadline, projects
behind their plan (开而未动, 动而迟缓), each switchable; explanations (延期申请) that pause the
clock and move the deadline; the office's rejection (退办); the office's own notices escalating.
Sweeps run as of 09:00, as the cron does."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from httpx import AsyncClient, Response
from prometheus_client import REGISTRY
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.notifier import results
from services.notifier.channels import LoggingChannel, Message
from services.notifier.delivery import deliver
from services.notifier.sweep import sweep
from services.notifier.webhooks import fan_out
from shared import clock
from shared.clock import OFFICE_TZ
from shared.crypto import SecretBox
from shared.models import (
    Milestone,
    Notice,
    NoticeChain,
    NoticeDelivery,
    NoticeDigest,
    OutboxMessage,
    Program,
    Unit,
    Webhook,
    WebhookDelivery,
)
from shared.queues import EventPayload
from shared.ranking import AssessmentPublished, GradedUnit, RankedUnit, RoundPublished
from tests.notifier.steps import apply_actions, days, morning, publish, rungs, urged
from tests.world import World, at


async def _notices(
    session: AsyncSession, world: World, rule: str, subject: Any = None
) -> list[tuple[str, date, str]]:
    """The notices of the rule in the world's program P (not another test's committed program)."""
    rows = await session.execute(
        select(col(Notice.kind), col(Notice.issued_on), col(Notice.state))
        .join(NoticeChain, col(NoticeChain.id) == col(Notice.chain_id))
        .where(
            col(NoticeChain.program_id) == world.programs["P"].id,
            col(NoticeChain.rule) == rule,
            col(Notice.subject_id) == subject if subject else col(Notice.id).is_not(None),
        )
        .order_by(col(Notice.issued_on), col(Notice.level))
        .execution_options(populate_existing=True)
    )
    return [(k, d, s) for k, d, s in rows.all()]


async def _chains(
    session: AsyncSession, world: World, rule: str, subject: Any = None
) -> list[tuple[str, str, str | None]]:
    rows = await session.execute(
        select(col(NoticeChain.period), col(NoticeChain.state), col(NoticeChain.closed_reason))
        .where(
            col(NoticeChain.program_id) == world.programs["P"].id,
            col(NoticeChain.rule) == rule,
            col(NoticeChain.subject_id) == subject if subject else col(NoticeChain.id).is_not(None),
        )
        .order_by(col(NoticeChain.opened_at))
        .execution_options(populate_existing=True)
    )
    return [(p, s, r) for p, s, r in rows.all()]


async def _file(client: AsyncClient, world: World, when: str, period: str, money: str, **more: Any) -> None:
    with clock.use_clock(at(when)):
        r = await client.post(
            f"/api/v1/projects/{world.projects['A'].id}/reports",
            json={"period": period, "investment_month": money, "progress_percent": "10", **more},
            headers=world.auth("a_reporter"),
        )
    assert r.status_code == 201, r.text


async def _set_notice_rules(
    client: AsyncClient, session: AsyncSession, world: World, rules: dict[str, Any], when: str
) -> Response:
    """The office replaces program P's notice rules at `when`; the api's answer."""
    program = await session.get_one(Program, world.programs["P"].id, populate_existing=True)
    with clock.use_clock(at(when)):
        return await client.patch(
            f"/api/v1/programs/{program.id}",
            json={"notice_rules": rules},
            headers={**world.auth("p_admin"), "If-Match": f'"{program.version}"'},
        )


async def _resolved(client: AsyncClient, world: World, problem: Any, when: str) -> None:
    """County A claims the problem resolved and the office confirms it (办结复核), at `when`."""
    with clock.use_clock(at(when)):
        claimed = await client.post(
            f"/api/v1/problems/{problem}/resolve",
            json={"resolution": "已完成征地"},
            headers=world.auth("a_reporter"),
        )
        confirmed = await client.post(f"/api/v1/problems/{problem}/confirm", headers=world.auth("p_staff"))
    assert claimed.status_code == 200 and confirmed.status_code == 200, confirmed.text


async def test_a_missed_milestone_and_a_problem_past_its_deadline_are_chased_until_done(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Milestone 开工 is planned for Friday 28 September 2018: reminded two working days before
    (26th), urged the first working day after (the make-up Saturday 29th); the October report
    saying it started on 8 October closes its chain before supervision (the 9th) comes. County
    A's problem is due Wednesday 17 October: reminded the 15th, urged the 18th; resolved and
    confirmed, its chain closes."""
    world = approved
    session.add(Milestone(project_id=world.projects["A"].id, name="开工", planned_date=date(2018, 9, 28)))
    await session.commit()
    await days(sessions, date(2018, 9, 24), date(2018, 10, 8))
    assert await _notices(session, approved, "milestone_due") == [
        ("reminder", date(2018, 9, 26), "superseded"),
        ("urging", date(2018, 9, 29), "issued"),
    ]
    await _file(
        client,
        world,
        "2018-10-08 16:00",
        "2018-10",
        "20",
        milestones=[{"name": "开工", "actual_date": "2018-10-08"}],
    )
    await days(sessions, date(2018, 10, 9), date(2018, 10, 18))
    assert await _chains(session, approved, "milestone_due") == [("2018-09-28", "closed", "milestone_met")]
    assert (await _notices(session, approved, "milestone_due"))[-1] == ("urging", date(2018, 9, 29), "closed")
    problem = world.problems["A"].id
    assert await _notices(session, approved, "problem_overdue", problem) == [
        ("reminder", date(2018, 10, 15), "superseded"),
        ("urging", date(2018, 10, 18), "issued"),
    ]
    await _resolved(client, world, problem, "2018-10-18 15:00")
    await sweep(sessions, morning(date(2018, 10, 19)))
    assert await _chains(session, approved, "problem_overdue", problem) == [
        ("2018-10-17", "closed", "problem_resolved")
    ]
    assert await _chains(session, approved, "problem_overdue", world.problems["B"].id) == [
        ("2018-10-17", "open", None)
    ]


async def test_projects_behind_their_plan_are_found_and_a_rule_switched_off_stops(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Project A plans 600 this year, 100 by March. By 30 June it has invested 50 (8.3 %, under
    the 38 % checkpoint): urged Monday 2 July. 50 of 100 planned to date is under 60 %: moving
    slowly (动而迟缓), urged the day it is found. Three monthly reports running with no
    investment (July–September): started but not moving (开而未动), straight to an interview.
    The office switches 动而迟缓 off: its chain closes."""
    world = approved
    await _file(client, world, "2018-06-20 10:00", "2018-06", "50")
    await sweep(sessions, morning(date(2018, 6, 29)))
    assert await _notices(session, approved, "investment_behind") == []
    await sweep(sessions, morning(date(2018, 7, 2)))
    assert await _notices(session, approved, "investment_behind") == [("urging", date(2018, 7, 2), "issued")]
    assert await _notices(session, approved, "moving_slowly") == [("urging", date(2018, 6, 29), "issued")]
    [behind] = (
        await session.scalars(
            select(Notice).where(
                col(Notice.period) == "2018-06-30", col(Notice.program_id) == world.programs["P"].id
            )
        )
    ).all()
    assert "8.3%" in behind.requirements and "38%" in behind.requirements
    for month in ("07", "08", "09"):
        await _file(client, world, f"2018-{month}-20 10:00", f"2018-{month}", "0")
    assert await _notices(session, approved, "not_moving") == []
    await sweep(sessions, morning(date(2018, 9, 21)))
    assert await _notices(session, approved, "not_moving") == [("interview", date(2018, 9, 21), "issued")]
    assert await _chains(session, approved, "not_moving") == [("2018-07", "open", None)]
    await sweep(sessions, morning(date(2018, 9, 25)))  # found again: still the one chain
    assert len(await _chains(session, approved, "not_moving")) == 1

    r = await _set_notice_rules(
        client, session, world, {"moving_slowly": {"enabled": False}}, "2018-09-25 10:00"
    )
    assert r.status_code == 200, r.text
    await sweep(sessions, morning(date(2018, 9, 26)))
    assert await _chains(session, approved, "moving_slowly") == [("2018-06", "closed", "rule_switched_off")]
    assert await _chains(session, approved, "not_moving") == [("2018-07", "open", None)]


async def _report_ladder(session: AsyncSession, world: World) -> list[tuple[str, date, date, str]]:
    return await rungs(
        session, col(Notice.subject_id) == world.projects["A"].id, col(Notice.period) == "2018-09"
    )


async def test_an_accepted_explanation_moves_the_deadline_and_the_ladder_with_it(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The urging notice of 26 September is due the 28th; supervision would come the 29th.
    County A explains on the 27th that it can file by Friday 19 October: the clock holds, so
    nothing comes on the 29th. The office accepts on 10 October: the notice is due the 19th and
    supervision comes the first working day after it, Monday the 22nd — not a day earlier —
    due 4 working days on, the 26th."""
    world = approved
    urging = await urged(session, sessions, world)
    url = f"/api/v1/notices/{urging.id}/explanation"
    reporter, staff = world.auth("a_reporter"), world.auth("p_staff")
    with clock.use_clock(at("2018-09-27 10:00")):
        early = await client.post(
            url, json={"reason": "征地未完成", "proposed_due_date": "2018-09-28"}, headers=reporter
        )
        asked = await client.post(
            url, json={"reason": "征地未完成", "proposed_due_date": "2018-10-19"}, headers=reporter
        )
        again = await client.post(
            url, json={"reason": "再次申请", "proposed_due_date": "2018-10-26"}, headers=reporter
        )
    assert early.status_code == 422 and early.json()["errors"][0]["loc"] == ["body", "proposed_due_date"]
    with clock.use_clock(at("2018-09-27 10:00")):  # no reason (the schema) and too early a day (the rules)
        both = await client.post(
            url, json={"reason": "", "proposed_due_date": "2018-09-28"}, headers=reporter
        )
    assert {tuple(e["loc"]) for e in both.json()["errors"]} == {
        ("body", "reason"),
        ("body", "proposed_due_date"),
    }
    assert asked.status_code == 202, asked.text
    assert again.status_code == 409  # the first is not decided yet
    assert await apply_actions(session, sessions) == ["clock paused"]
    await days(sessions, date(2018, 9, 27), date(2018, 10, 9))
    assert [k for k, *_ in await _report_ladder(session, world)] == ["urging"]
    with clock.use_clock(at("2018-10-10 10:00")):
        accepted = await client.post(f"/api/v1/notices/{urging.id}/accept", headers=staff)
        shown = await client.get(f"/api/v1/notices/{urging.id}", headers=reporter)
    assert accepted.status_code == 202 and accepted.json()["decides_id"] == asked.json()["id"]
    assert await apply_actions(session, sessions) == ["duplicate", "deadline moved"]
    with clock.use_clock(at("2018-10-10 11:00")):
        shown = await client.get(f"/api/v1/notices/{urging.id}", headers=reporter)
    assert shown.json()["due_date"] == "2018-10-19" and shown.json()["state"] == "issued"
    await days(sessions, date(2018, 10, 10), date(2018, 10, 22))
    assert await _report_ladder(session, world) == [
        ("urging", date(2018, 9, 26), date(2018, 10, 19), "superseded"),
        ("supervision", date(2018, 10, 22), date(2018, 10, 26), "issued"),
    ]


async def test_a_rejected_explanation_resumes_the_clock_and_rejected_feedback_reopens(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Held on 27 September, the urging notice due the 28th and supervision to fire the 29th; the
    office rejects the explanation on 9 October, 5 working days later: the urging notice is due
    5 working days after the 28th (10 October) and supervision fires the first working day after
    it (the 11th), due 4 working days on (the 17th).
    The supervision notice's feedback is returned for rework (退办) due in 3 working days; an
    explanation after that deadline is 409 with the reason."""
    world = approved
    urging = await urged(session, sessions, world)
    reporter, staff = world.auth("a_reporter"), world.auth("p_staff")
    base = f"/api/v1/notices/{urging.id}"
    with clock.use_clock(at("2018-09-27 10:00")):
        r = await client.post(
            f"{base}/explanation",
            json={"reason": "资金未到位", "proposed_due_date": "2018-10-31"},
            headers=reporter,
        )
    assert r.status_code == 202
    with clock.use_clock(at("2018-10-09 10:00")):
        nothing = await client.post(f"{base}/reject", json={"reason": "理由不充分"}, headers=reporter)
        rejected = await client.post(f"{base}/reject", json={"reason": "理由不充分"}, headers=staff)
    assert nothing.status_code == 403 and rejected.status_code == 202
    assert await apply_actions(session, sessions) == ["clock paused", "clock resumed"]
    await days(sessions, date(2018, 9, 28), date(2018, 10, 11))
    assert await _report_ladder(session, world) == [
        ("urging", date(2018, 9, 26), date(2018, 10, 10), "superseded"),
        ("supervision", date(2018, 10, 11), date(2018, 10, 17), "issued"),
    ]
    supervision = await session.scalar(
        select(Notice).where(col(Notice.chain_id) == urging.chain_id, col(Notice.kind) == "supervision")
    )
    assert supervision is not None
    sup = f"/api/v1/notices/{supervision.id}"
    with clock.use_clock(at("2018-10-12 10:00")):
        answered = await client.post(f"{sup}/feedback", json={"text": "已报送"}, headers=reporter)
    with clock.use_clock(at("2018-10-15 10:00")):
        returned = await client.post(
            f"{sup}/reject", json={"reason": "报表数据不全，请补充", "due_in_working_days": 3}, headers=staff
        )
    assert answered.status_code == 202 and returned.status_code == 202
    assert returned.json()["due_date"] == "2018-10-18"
    await apply_actions(session, sessions)
    with clock.use_clock(at("2018-10-16 10:00")):
        shown = (await client.get(sup, headers=reporter)).json()
    assert (shown["state"], shown["due_date"], shown["colour"]) == ("reopened", "2018-10-18", "yellow")
    with clock.use_clock(at("2018-10-19 10:00")):
        late = await client.post(
            f"{sup}/explanation", json={"reason": "x", "proposed_due_date": "2018-10-31"}, headers=reporter
        )
    assert late.status_code == 409 and "2018-10-18" in late.json()["detail"]


async def test_the_offices_own_notice_climbs_the_ladder_after_its_deadline(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """An urging notice issued Friday 28 September, due in 3 working days (Monday 8 October):
    left unanswered, supervision comes the first working day after, Tuesday the 9th."""
    world = approved
    body = {
        "program_id": str(world.programs["P"].id),
        "kind": "urging",
        "recipient_unit_id": str(world.units["A"].id),
        "subject": {"type": "instruction"},
        "requirements": "落实县长批示：九月底前完成征地",
        "due_in_working_days": 3,
    }
    with clock.use_clock(at("2018-09-28 10:00")):
        # a deadline the schema refuses, a recipient out of sight and a matter that is none: one answer
        wrong = {**body, "due_in_working_days": 0, "recipient_unit_id": str(uuid.uuid4()),
                 "subject": {"type": "project", "id": str(uuid.uuid4())}}  # fmt: skip
        refused = await client.post("/api/v1/notices", json=wrong, headers=world.auth("p_staff"))
        assert {tuple(e["loc"]) for e in refused.json()["errors"]} == {
            ("body", "due_in_working_days"),
            ("body", "recipient_unit_id"),
            ("body", "subject", "id"),
        }, refused.json()
        r = await client.post("/api/v1/notices", json=body, headers=world.auth("p_staff"))
    assert r.status_code == 202, r.text
    assert await apply_actions(session, sessions, "issue_notice") == ["issued"]
    await days(sessions, date(2018, 9, 28), date(2018, 10, 9))
    assert await _notices(session, approved, "manual") == [
        ("urging", date(2018, 9, 28), "superseded"),
        ("supervision", date(2018, 10, 9), "issued"),
    ]
    escalated = await session.scalar(
        select(Notice).where(col(Notice.kind) == "supervision", col(Notice.parent_id) == r.json()["id"])
    )
    assert escalated is not None and "落实县长批示" in escalated.requirements


class FlakyChannel(LoggingChannel):
    """A gateway that refuses its first message, then takes them all (and keeps them)."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.refused = False

    async def send(self, message: Message) -> None:
        if not self.refused:
            self.refused = True
            raise ConnectionError("gateway down")
        self.sent.append(message)


async def test_each_liaison_gets_one_digest_a_working_day_never_in_quiet_hours(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The sweep of Wednesday 26 September issues county A several notices: its liaison gets one
    message listing them all (the gateway refused it once: sent on the next pass, still one).
    An office notice issued that afternoon waits for Thursday morning's digest; nothing goes out
    on Saturday 22 September, a day off, or at 20:00."""
    world, channel = approved, FlakyChannel()
    phones = SecretBox("test", "phone")
    unit = await session.get_one(Unit, world.units["A"].id)
    unit.liaison_name, unit.liaison_phone_encrypted = "李四", phones.seal("13800001234")
    await session.commit()
    await sweep(sessions, morning(date(2018, 9, 21)))  # the reminders of the 20th and 21st
    assert await deliver(sessions, channel, phones, morning(date(2018, 9, 22))) == {"gathered": 0, "sent": 0}
    evening = datetime.combine(date(2018, 9, 21), time(20), OFFICE_TZ)
    assert (await deliver(sessions, channel, phones, evening))["sent"] == 0
    await sweep(sessions, morning(date(2018, 9, 26)))
    counted = {
        o: REGISTRY.get_sample_value("duban_digests_total", {"outcome": o}) or 0 for o in ("sent", "failed")
    }
    first = await deliver(sessions, channel, phones, morning(date(2018, 9, 26)))
    # the refused one waits a minute (then 2, 4 … minutes) before it is tried again
    same = await deliver(sessions, channel, phones, morning(date(2018, 9, 26)))
    again = await deliver(sessions, channel, phones, morning(date(2018, 9, 26)) + timedelta(minutes=1))
    assert (first["sent"], first["retrying"]) == (first["gathered"] - 1, 1)
    assert same == {"gathered": 0, "sent": 0, "failed": 0, "retrying": 0}
    assert again == {"gathered": 0, "sent": 1, "failed": 0, "retrying": 0}
    # what an operator's alert reads: the refusal counted as failed, every digest once as sent
    now = {
        o: REGISTRY.get_sample_value("duban_digests_total", {"outcome": o}) or 0 for o in ("sent", "failed")
    }
    assert (now["failed"] - counted["failed"], now["sent"] - counted["sent"]) == (1, first["gathered"])
    told = [m for m in channel.sent if m.unit_id == world.units["A"].id]
    assert len(told) == 1 and (told[0].to_name, told[0].to_phone) == ("李四", "13800001234")
    waiting = await session.scalars(
        select(Notice).where(
            col(Notice.recipient_unit_id) == world.units["A"].id, col(Notice.state) == "issued"
        )
    )
    listed = [n for n in waiting.all()]
    assert len(listed) >= 2 and told[0].body.count("【") == len(listed)
    assert "项目月报" in told[0].body and "请呈单位负责人" not in told[0].body

    body = {
        "program_id": str(world.programs["P"].id),
        "kind": "urging",
        "recipient_unit_id": str(world.units["A"].id),
        "subject": {"type": "instruction"},
        "requirements": "落实县长批示",
        "due_in_working_days": 3,
    }
    with clock.use_clock(at("2018-09-26 15:00")):
        assert (
            await client.post("/api/v1/notices", json=body, headers=world.auth("p_staff"))
        ).status_code == 202
    await apply_actions(session, sessions, "issue_notice")
    afternoon = datetime.combine(date(2018, 9, 26), time(16), OFFICE_TZ)
    assert await deliver(sessions, channel, phones, afternoon) == {
        "gathered": 0,
        "sent": 0,
        "failed": 0,
        "retrying": 0,
    }
    await deliver(sessions, channel, phones, morning(date(2018, 9, 27)))
    told = [m for m in channel.sent if m.unit_id == world.units["A"].id]
    assert len(told) == 2 and "落实县长批示" in told[1].body and told[1].body.count("【") == 1
    digests = await session.scalars(
        select(NoticeDigest).where(col(NoticeDigest.unit_id) == world.units["A"].id)
    )
    assert sorted(d.day for d in digests.all()) == [date(2018, 9, 26), date(2018, 9, 27)]


class OverlappedChannel(LoggingChannel):
    """A gateway so slow that, while it sends the first message, another delivery pass (the
    cron's, a second notifier's or an operator's `sweep --as-of`) runs from start to end."""

    def __init__(self, overlap: Callable[[], Awaitable[Any]]) -> None:
        self.sent: list[Message] = []
        self.overlap: Callable[[], Awaitable[Any]] | None = overlap

    async def send(self, message: Message) -> None:
        overlap, self.overlap = self.overlap, None
        if overlap is not None:
            await overlap()
        self.sent.append(message)


async def test_overlapping_delivery_passes_send_each_digest_once(
    approved: World,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Every unit's digest of the day reaches its liaison once, though a second pass ran while the
    first was sending."""
    await sweep(sessions, morning(date(2018, 9, 26)))
    phones, passes = SecretBox("test", "phone"), []

    async def second_pass() -> None:
        passes.append(await deliver(sessions, channel, phones, morning(date(2018, 9, 26))))

    channel = OverlappedChannel(second_pass)
    passes.append(await deliver(sessions, channel, phones, morning(date(2018, 9, 26))))
    sent = [m.digest_id for m in channel.sent]
    assert len(passes) == 2 and len(sent) >= 2
    assert len(sent) == len(set(sent)) == sum(p["sent"] for p in passes) == sum(p["gathered"] for p in passes)


class DyingChannel(LoggingChannel):
    """The notifier is killed while its gateway sends the first message."""

    async def send(self, message: Message) -> None:
        raise asyncio.CancelledError


async def test_a_digest_whose_pass_died_is_sent_once_its_lease_runs_out(
    approved: World,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await sweep(sessions, morning(date(2018, 9, 26)))
    phones, when = SecretBox("test", "phone"), morning(date(2018, 9, 26))
    with pytest.raises(asyncio.CancelledError):
        await deliver(sessions, DyingChannel(), phones, when)
    channel = FlakyChannel()
    channel.refused = True
    assert (await deliver(sessions, channel, phones, when))["sent"] == 0  # leased by the dead pass
    async with sessions() as s, s.begin():  # five minutes later
        await s.execute(update(NoticeDelivery).values(claimed_until=func.now() - timedelta(seconds=1)))
    resent = await deliver(sessions, channel, phones, when)
    sent = [m.digest_id for m in channel.sent]
    assert resent["sent"] >= 1 and len(sent) == len(set(sent)) == resent["sent"]


async def _fanned_out(
    sessions: async_sessionmaker[AsyncSession], happened: EventPayload, consume: bool = False
) -> list[Any]:
    """What the notifier's event job writes: notices of a published result, and deliveries."""
    async with sessions() as s, s.begin():
        if consume:
            await results.consume(s, happened)
        return await fan_out(s, message_id=str(uuid.uuid4()), event=happened)


async def test_a_published_ranking_and_grade_reach_the_offices_webhooks_and_the_praise_is_announced(
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The program office subscribes to rankings and grades; a county to its notices. Publishing
    round P's results delivers round.published to the office; the praise of county A is a
    notice.issued for A's hook; the program's grade delivers assessment.published."""
    world, units = approved, approved.units
    program = await session.get_one(Program, world.programs["P"].id)
    office_hook = Webhook(
        unit_id=program.office_unit_id, url="https://example.cn/office", created_by="t", secret_encrypted="-",
        events=["round.published", "assessment.published"],
    )  # fmt: skip
    session.add(office_hook)
    world.webhooks["A"].events = ["notice.issued"]
    await session.commit()
    ranking = RoundPublished(
        round_id=world.rounds["P"].id, program_id=program.id, quarter="2018-Q3", version=1,
        units=[RankedUnit(unit_id=units["A"].id, rank=1, score=Decimal("92.50")),
               RankedUnit(unit_id=units["B"].id, rank=2, score=Decimal("70.10"))],
        praise_top=1, criticise_bottom=0,
    )  # fmt: skip
    published = EventPayload(
        event="round.published", subject_type="round", subject_id=world.rounds["P"].id,
        occurred_at=at("2018-10-12 16:00").now(), data=ranking.model_dump(mode="json"),
    )  # fmt: skip
    assert len(await _fanned_out(sessions, published, consume=True)) == 1
    praised = (
        await session.scalars(
            select(OutboxMessage).where(
                col(OutboxMessage.job) == "event", col(OutboxMessage.producer) == "notifier"
            )
        )
    ).all()
    assert [(m.payload["event"], m.payload["data"]["kind"]) for m in praised] == [("notice.issued", "praise")]
    announced = EventPayload.model_validate(praised[0].payload)
    assert len(await _fanned_out(sessions, announced)) == 1 and announced.subject_type == "notice"
    graded = EventPayload(
        event="assessment.published", subject_type="program", subject_id=program.id,
        occurred_at=at("2019-01-10 16:00").now(),
        data=AssessmentPublished(program_id=program.id, year=2018, half=None, units=[]).model_dump(
            mode="json"
        ),
    )  # fmt: skip
    assert len(await _fanned_out(sessions, graded)) == 1
    delivered = await session.scalars(
        select(WebhookDelivery.event).where(col(WebhookDelivery.webhook_id) == office_hook.id)
    )
    assert sorted(delivered.all()) == ["assessment.published", "round.published"]


async def test_a_published_ranking_praises_the_top_and_criticises_the_bottom_a_failing_grade_is_referred(
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Round 2018-Q3 ranks A first, D second, B and C tied third, with praise for 1 and criticism
    for 1: A is praised at once; B and C (tied at the cut-off) get the criticism bulletin at the
    next sweep, and the interview 10 working days later. A second version of the same round
    praises and criticises no one twice. County D fails the 2018 assessment: referred for
    accountability (the ladder's top rung)."""
    world = approved
    units = world.units
    ranking = RoundPublished(
        round_id=uuid.uuid4(),
        program_id=world.programs["P"].id,
        quarter="2018-Q3",
        version=1,
        units=[
            RankedUnit(unit_id=units["A"].id, rank=1, score=Decimal("92.50")),
            RankedUnit(unit_id=units["D"].id, rank=2, score=Decimal("88.00")),
            RankedUnit(unit_id=units["B"].id, rank=3, score=Decimal("70.10"), distinguishable=False),
            RankedUnit(unit_id=units["C"].id, rank=3, score=Decimal("70.10")),
        ],
        praise_top=1,
        criticise_bottom=1,
    )
    await publish(sessions, "round.published", ranking, "2018-10-12 16:00")
    praise = (
        await session.scalars(
            select(Notice).where(
                col(Notice.kind) == "praise", col(Notice.program_id) == world.programs["P"].id
            )
        )
    ).all()
    assert [(n.recipient_unit_id, n.state) for n in praise] == [(units["A"].id, "issued")]
    assert "第 1 名" in praise[0].requirements and "通报表扬" in praise[0].requirements
    await sweep(sessions, datetime.combine(date(2018, 10, 12), time(16, 30), OFFICE_TZ))
    criticised = await _notices(session, approved, "ranking")
    assert sorted(criticised) == [
        ("criticism", date(2018, 10, 12), "issued"),
        ("criticism", date(2018, 10, 12), "issued"),
        ("praise", date(2018, 10, 12), "issued"),
    ]
    bulletin = await session.scalar(
        select(Notice).where(col(Notice.kind) == "criticism", col(Notice.recipient_unit_id) == units["B"].id)
    )
    assert bulletin is not None and "差异不显著" in bulletin.requirements
    # criticised for its rank, in its own words: no urging came before it
    assert "2018 年第 3 季度观摩评比" in bulletin.requirements and "经催办" not in bulletin.requirements
    await publish(sessions, "round.published", ranking.model_copy(update={"version": 2}), "2018-10-15 10:00")
    await days(sessions, date(2018, 10, 13), date(2018, 10, 26))
    assert sorted(k for k, _, _ in await _notices(session, approved, "ranking")) == [
        "criticism",
        "criticism",
        "interview",
        "interview",
        "praise",
    ]
    assert ("interview", date(2018, 10, 26), "issued") in await _notices(
        session, approved, "ranking", units["B"].id
    )

    grades = AssessmentPublished(
        program_id=world.programs["P"].id,
        year=2018,
        units=[
            GradedUnit(unit_id=units["A"].id, score=Decimal("90"), grade="excellent"),
            GradedUnit(unit_id=units["D"].id, score=Decimal("55.5"), grade="fail"),
        ],
    )
    await publish(sessions, "assessment.published", grades, "2018-12-28 10:00")
    await sweep(sessions, datetime.combine(date(2018, 12, 28), time(11), OFFICE_TZ))
    assert await _notices(session, approved, "assessment", units["D"].id) == [
        ("accountability", date(2018, 12, 28), "issued")
    ]
    assert await _chains(session, approved, "assessment", units["A"].id) == []
    [referral] = (
        await session.scalars(
            select(Notice).where(
                col(Notice.kind) == "accountability", col(Notice.recipient_unit_id) == units["D"].id
            )
        )
    ).all()
    assert "2018 年度考核不合格" in referral.requirements and "依照考核办法" in referral.requirements


async def test_a_failing_half_year_grade_informs_and_refers_nobody(
    approved: World, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Only a failing annual grade is referred for accountability: the half-year grade informs."""
    units = approved.units
    grades = AssessmentPublished(
        program_id=approved.programs["P"].id, year=2018, half=1,
        units=[GradedUnit(unit_id=units["D"].id, score=Decimal("40"), grade="fail")],
    )  # fmt: skip
    await publish(sessions, "assessment.published", grades, "2018-07-10 10:00")
    await sweep(sessions, datetime.combine(date(2018, 7, 10), time(11), OFFICE_TZ))
    assert await _chains(session, approved, "assessment") == []


async def test_filing_a_chased_period_tells_the_notifier_and_its_chain_closes_at_once(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """County A files September's project form and its weekly report the afternoon they are
    urged: each filing writes one `report_filed` message (the project's in its filing function),
    and the notifier closes each chain on it, before any sweep. A correction tells nothing."""
    world = approved
    await sweep(sessions, morning(date(2018, 9, 26)))
    weekly = await session.scalar(
        select(NoticeChain).where(
            col(NoticeChain.subject_id) == world.units["A"].id,
            col(NoticeChain.schedule_kind) == "unit_weekly",
            col(NoticeChain.state) == "open",
        )
    )
    assert weekly is not None
    await _file(client, world, "2018-09-26 15:00", "2018-09", "80")
    await _file(client, world, "2018-09-26 15:10", "2018-09", "85")  # a correction
    await _file(client, world, "2018-09-26 15:20", "2018-07", "30")  # July is chased too (never filed)
    with clock.use_clock(at("2018-09-26 15:30")):
        filed = await client.post(
            f"/api/v1/units/{world.units['A'].id}/reports",
            json={"kind": "weekly", "period": weekly.period, "body": "本周推进情况"},
            headers=world.auth("a_reporter"),
        )
    assert filed.status_code == 201, filed.text
    assert await apply_actions(session, sessions, "report_filed") == ["chain closed"] * 3  # no correction
    assert await apply_actions(session, sessions, "report_filed") == ["duplicate"] * 3
    chains = await session.scalars(
        select(NoticeChain)
        .where(
            col(NoticeChain.period).in_(["2018-07", "2018-09", weekly.period]),
            col(NoticeChain.subject_id).in_([world.projects["A"].id, world.units["A"].id]),
            col(NoticeChain.schedule_kind) != "unit_monthly",  # the county's own July report: not filed
        )
        .execution_options(populate_existing=True)
    )
    assert {(c.period, c.state, c.closed_reason) for c in chains.all()} == {
        ("2018-07", "closed", "report_filed"),
        ("2018-09", "closed", "report_filed"),
        (weekly.period, "closed", "report_filed"),
    }
    urging = await session.scalar(
        select(Notice).where(
            col(Notice.subject_id) == world.projects["A"].id, col(Notice.period) == "2018-09"
        )
    )
    assert urging is not None and urging.state == "closed"


async def test_an_office_going_live_mid_year_is_not_chased_for_the_months_before(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """An office starts on Duban in May 2018 and enters January to April as history: with
    `chase_from` 15 May, the sweep of 12 June chases project A's May form (due 22 May) and nothing
    due before 15 May. Cleared, the next sweep chases January to April too."""
    world = approved
    program = world.programs["P"].id

    async def chase_from(day: str | None) -> Response:
        return await _set_notice_rules(client, session, world, {"chase_from": day}, "2018-06-11 10:00")

    r = await chase_from("1999-12-31")
    assert r.status_code == 422 and "chase_from" in r.text, r.text

    assert (await chase_from("2018-05-15")).status_code == 200
    await sweep(sessions, morning(date(2018, 6, 12)))
    project = world.projects["A"].id

    async def chased() -> list[str]:  # (the world's August chain, opened in August, aside)
        chains = await _chains(session, approved, "report_due", project)
        return sorted(p for p, state, _ in chains if state == "open" and p != "2018-08")

    assert await chased() == ["2018-05"]
    opened = select(col(NoticeChain.due_date)).where(
        col(NoticeChain.program_id) == program, col(NoticeChain.state) == "open"
    )
    assert min(await session.scalars(opened)) >= date(2018, 5, 15)  # the units' reports too

    assert (await chase_from(None)).status_code == 200
    await sweep(sessions, morning(date(2018, 6, 13)))
    assert await chased() == ["2018-01", "2018-02", "2018-03", "2018-04", "2018-05"]


async def test_a_replayed_sweep_sees_a_problem_as_it_stood_that_day(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """County A's problem (due 17 October 2018) was resolved and confirmed on the 20th. Replayed
    afterwards, the sweep of the 15th still reminds it and the 18th urges it, as they would have
    on the day; the sweep of the 22nd closes its chain."""
    world = approved
    problem = world.problems["A"].id
    await _resolved(client, world, problem, "2018-10-20 15:00")
    await sweep(sessions, morning(date(2018, 10, 15)))
    await sweep(sessions, morning(date(2018, 10, 18)))
    assert await _notices(session, approved, "problem_overdue", problem) == [
        ("reminder", date(2018, 10, 15), "superseded"),
        ("urging", date(2018, 10, 18), "issued"),
    ]
    await sweep(sessions, morning(date(2018, 10, 22)))
    assert await _chains(session, approved, "problem_overdue", problem) == [
        ("2018-10-17", "closed", "problem_resolved")
    ]
