"""The office reads what it judges: a notice carries its actions (the feedback's text, the
explanation's reason and day, the office's decisions), why and when it ended; the notices waiting
for the office are listed, the longest waiting first, and its own digest reminds it of answers left
undecided; it withdraws a notice issued by mistake."""

import uuid
from datetime import date
from decimal import Decimal

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.notifier.channels import LoggingChannel, Message
from services.notifier.delivery import deliver
from services.notifier.sweep import sweep
from shared import clock
from shared.crypto import SecretBox
from shared.models import Notice
from shared.ranking import RankedUnit, RoundPublished
from tests.notifier.steps import apply_actions, morning, publish, urged
from tests.world import World, at


class Kept(LoggingChannel):
    def __init__(self) -> None:
        self.sent: list[Message] = []

    async def send(self, message: Message) -> None:
        self.sent.append(message)


async def test_the_office_reads_the_feedback_it_judges_and_is_reminded_of_what_waits(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """County A answers the urging notice on Thursday 27 September. The office sees the text
    and lists the notice as waiting for it; by Monday 8 October (more than 3 working days) its
    own digest reminds it, naming the county. It returns the answer with its reason: the notice
    shows both actions, in order, with the new deadline."""
    world = approved
    urging = await urged(session, sessions, world)
    url = f"/api/v1/notices/{urging.id}"
    staff, reporter = world.auth("p_staff"), world.auth("a_reporter")
    with clock.use_clock(at("2018-09-27 10:00")):
        answered = await client.post(
            f"{url}/feedback", json={"text": "征地问题已协调，本周补报"}, headers=reporter
        )
    assert answered.status_code == 202
    await apply_actions(session, sessions)
    with clock.use_clock(at("2018-09-27 11:00")):
        shown = (await client.get(url, headers=staff)).json()
        waiting = await client.get(
            "/api/v1/notices", params={"awaiting": "office", "program_id": str(world.programs["P"].id)},
            headers=staff,
        )  # fmt: skip
    assert shown["state"] == "feedback_submitted" and shown["awaiting_since"].startswith("2018-09-27")
    assert [(a["action"], a["text"], a["actor"]) for a in shown["actions"]] == [
        ("feedback", "征地问题已协调，本周补报", answered.json()["actor"])
    ]
    assert [n["id"] for n in waiting.json()["data"]] == [str(urging.id)]
    phones, channel = SecretBox("test", "phone"), Kept()
    await deliver(sessions, channel, phones, morning(date(2018, 9, 28)))
    assert [m for m in channel.sent if m.unit_id == world.units["P"].id] == []  # 1 working day: not yet
    await deliver(sessions, channel, phones, morning(date(2018, 10, 8)))
    [reminder] = [m for m in channel.sent if m.unit_id == world.units["P"].id]
    assert "待决定 1 件" in reminder.subject
    assert "A对【催办】" in reminder.body and "书面反馈（2018-09-27 提交）" in reminder.body
    with clock.use_clock(at("2018-10-08 10:00")):
        told = await client.get(
            "/api/v1/digests",
            params={"unit_id": str(world.units["P"].id), "date": "2018-10-08"},
            headers=staff,
        )
        county = await client.get("/api/v1/digests", headers=world.auth("a_reporter"))
    [digest] = told.json()["data"]
    assert "书面反馈（2018-09-27 提交）" in digest["body"] and digest["sent_at"] is not None
    assert county.status_code == 403
    with clock.use_clock(at("2018-10-08 10:00")):
        returned = await client.post(
            f"{url}/reject", json={"reason": "未说明补报日期", "due_in_working_days": 2}, headers=staff
        )
    assert returned.status_code == 202
    await apply_actions(session, sessions)
    with clock.use_clock(at("2018-10-08 11:00")):
        shown = (await client.get(url, headers=reporter)).json()
        waiting = await client.get("/api/v1/notices", params={"awaiting": "office"}, headers=staff)
    assert shown["state"] == "reopened" and shown["awaiting_since"] is None
    assert [(a["action"], a["text"], a["due_date"]) for a in shown["actions"]] == [
        ("feedback", "征地问题已协调，本周补报", None),
        ("reject", "未说明补报日期", "2018-10-10"),
    ]
    assert str(urging.id) not in [n["id"] for n in waiting.json()["data"]]


async def test_the_office_withdraws_a_notice_issued_by_mistake(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The office urges county A on a leader's instruction, then finds it meant county B: it
    withdraws the notice with its reason. The notice is closed, `withdrawn`, with the reason
    among its actions; the county cannot withdraw, and a withdrawn notice cannot be again."""
    world = approved
    staff = world.auth("p_staff")
    body = {
        "program_id": str(world.programs["P"].id), "kind": "urging",
        "recipient_unit_id": str(world.units["A"].id), "subject": {"type": "instruction"},
        "requirements": "落实县长批示：九月底前完成征地", "due_in_working_days": 3,
    }  # fmt: skip
    with clock.use_clock(at("2018-09-28 10:00")):
        ordered = await client.post("/api/v1/notices", json=body, headers=staff)
    assert ordered.status_code == 202
    assert await apply_actions(session, sessions, "issue_notice") == ["issued"]
    url = f"/api/v1/notices/{ordered.json()['id']}"
    with clock.use_clock(at("2018-09-28 11:00")):
        issued = (await client.get(url, headers=world.auth("a_reporter"))).json()
        county = await client.post(f"{url}/withdraw", json={"reason": "x"}, headers=world.auth("a_reporter"))
        empty = await client.post(f"{url}/withdraw", json={"reason": ""}, headers=staff)
        withdrawn = await client.post(
            f"{url}/withdraw", json={"reason": "发错单位，应为伊川县"}, headers=staff
        )
    assert issued["subject"] == {"type": "instruction", "id": issued["subject"]["id"], "period": None}
    assert county.status_code == 403 and empty.status_code == 422 and withdrawn.status_code == 202
    assert await apply_actions(session, sessions) == ["withdrawn"]
    with clock.use_clock(at("2018-09-28 12:00")):
        shown = (await client.get(url, headers=world.auth("a_reporter"))).json()
        again = await client.post(f"{url}/withdraw", json={"reason": "再撤"}, headers=staff)
    assert (shown["state"], shown["closed_reason"], shown["colour"]) == ("closed", "withdrawn", None)
    assert shown["closed_at"].startswith("2018-09-28")
    assert [(a["action"], a["text"]) for a in shown["actions"]] == [("withdraw", "发错单位，应为伊川县")]
    assert again.status_code == 409


async def test_a_bulletin_is_read_by_every_unit_of_the_program_and_answered_by_its_own(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """通报 are published: county B's criticism and county A's praise are read by both counties
    (as on paper, the unit named), not by Hebei; only B answers its criticism; B's urging notice
    stays B's own."""
    world, units = approved, approved.units
    ranking = RoundPublished(
        round_id=uuid.uuid4(), program_id=world.programs["P"].id, quarter="2018-Q3", version=1,
        units=[RankedUnit(unit_id=units["A"].id, rank=1, score=Decimal("92.50")),
               RankedUnit(unit_id=units["B"].id, rank=2, score=Decimal("70.10"))],
        praise_top=1, criticise_bottom=1,
    )  # fmt: skip
    await publish(sessions, "round.published", ranking, "2018-10-12 10:00")
    await sweep(sessions, morning(date(2018, 10, 12)))  # the criticism is issued; B is urged too
    program = {"program_id": str(world.programs["P"].id)}

    async def kinds(who: str) -> set[tuple[str, str]]:
        with clock.use_clock(at("2018-10-12 11:00")):
            r = await client.get(
                "/api/v1/notices", params=program | {"page_size": "200"}, headers=world.auth(who)
            )
        names = {str(u.id): code for code, u in units.items()}
        return {(n["kind"], names.get(n["recipient_unit_id"], "?")) for n in r.json()["data"]}

    seen_by_a, seen_by_b = await kinds("a_reporter"), await kinds("b_admin")
    assert {("criticism", "B"), ("praise", "A")} <= seen_by_a and {
        ("criticism", "B"),
        ("praise", "A"),
    } <= seen_by_b
    assert not {n for n in seen_by_a if n[1] == "B" and n[0] not in ("criticism", "praise")}  # B's own
    assert await kinds("q_admin") == set()
    criticism = await session.scalar(
        select(Notice).where(col(Notice.kind) == "criticism", col(Notice.recipient_unit_id) == units["B"].id)
    )
    assert criticism is not None and "B在 2018 年第 3 季度" in criticism.requirements
    url = f"/api/v1/notices/{criticism.id}"
    with clock.use_clock(at("2018-10-12 14:00")):
        read = await client.get(url, headers=world.auth("a_reporter"))
        meddling = await client.post(
            f"{url}/feedback", json={"text": "代为反馈"}, headers=world.auth("a_reporter")
        )
        own = await client.post(f"{url}/feedback", json={"text": "已整改"}, headers=world.auth("b_admin"))
    assert read.status_code == 200 and meddling.status_code == 403 and own.status_code == 202


async def test_a_small_round_never_praises_and_criticises_one_unit(
    approved: World, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Three counties, praise for the top 2 and criticism for the bottom 2: B is praised, and so
    not criticised; only C is."""
    units = approved.units
    ranking = RoundPublished(
        round_id=uuid.uuid4(), program_id=approved.programs["P"].id, quarter="2018-Q3", version=1,
        units=[RankedUnit(unit_id=units[c].id, rank=r, score=Decimal(s))
               for c, r, s in (("A", 1, "90"), ("B", 2, "80"), ("C", 3, "70"))],
        praise_top=2, criticise_bottom=2,
    )  # fmt: skip
    assert await publish(sessions, "round.published", ranking, "2018-10-12 10:00") == "0 deliveries"
    await sweep(sessions, morning(date(2018, 10, 12)))
    rows = await session.execute(
        select(col(Notice.recipient_unit_id), col(Notice.kind)).where(
            col(Notice.program_id) == approved.programs["P"].id, col(Notice.kind).in_(["praise", "criticism"])
        )
    )
    told = {(kind, unit) for unit, kind in rows.all()}
    assert told == {("praise", units["A"].id), ("praise", units["B"].id), ("criticism", units["C"].id)}
