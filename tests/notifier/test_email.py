"""The e-mail channel against a real SMTP server (aiosmtpd on 127.0.0.1): the people a digest
concerns each get one multipart message, a refused address is recorded and never tried again,
a server that is away is tried again with backoff, and a second pass sends nothing twice."""

import email
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from email.message import Message as Mail
from email.policy import default as policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.notifier.channels import EmailChannel
from services.notifier.delivery import deliver
from services.notifier.sweep import sweep
from shared.crypto import SecretBox
from shared.models import AppUser, Notice, NoticeDelivery
from shared.settings import NotifierSettings
from tests.helpers import free_port
from tests.notifier.steps import morning
from tests.world import World

REFUSED = "nobody@county-a.example.cn"


class Mailbox:
    """What an SMTP server received; it refuses REFUSED with 550, as a mail server does."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], Mail]] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.received.append(
            (list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=policy))
        )
        return "250 2.0.0 Ok: queued as Q1"

    def to(self, address: str) -> list[Mail]:
        return [mail for rcpt, mail in self.received if address in rcpt]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    server = Controller(box, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield box, port
    finally:
        server.stop()


def channel(settings: NotifierSettings, port: int) -> EmailChannel:
    return EmailChannel(
        settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False,
                    "smtp_from": "督办系统 <duban@office.example.cn>"}
        )
    )  # fmt: skip


async def _people(session: AsyncSession, world: World, phones: SecretBox) -> dict[str, AppUser]:
    """County A's liaison and head, with e-mail addresses, and a liaison whose address the server
    refuses."""
    made = {}
    for key, duties, address in (
        ("liaison", ["liaison"], "liaison@county-a.example.cn"),
        ("head", ["unit_head"], "head@county-a.example.cn"),
        ("gone", ["liaison"], REFUSED),
    ):
        made[key] = AppUser(
            username=f"{key}-{uuid.uuid4().hex[:6]}", display_name=f"县{key}", password_hash="x",
            unit_id=world.units["A"].id, roles=["reporter"], email=address, duties=duties,
            mobile_encrypted=phones.seal("13900001111"),
        )  # fmt: skip
        session.add(made[key])
    await session.commit()
    return made


def _text(mail: Mail) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _html(mail: Mail) -> str:
    part = mail.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


async def test_each_person_gets_one_email_with_their_notices_and_a_refusal_is_kept(
    client: AsyncClient,
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    notifier_settings: NotifierSettings,
    smtp: tuple[Mailbox, int],
) -> None:
    """September 2018: county A owes project A's reports. On the first working morning after the
    sweep its liaison gets one e-mail listing every notice (text and HTML, each with its colour
    and due date), once however often the pass runs; the address the server refuses is recorded
    as failed with the server's words and never tried again."""
    world, (mailbox, port) = approved, smtp
    phones = SecretBox("test", "phone")
    people = await _people(session, world, phones)
    email_channel = channel(notifier_settings, port)
    await sweep(sessions, morning(date(2018, 9, 26)))
    first = await deliver(sessions, email_channel, phones, morning(date(2018, 9, 26)))
    again = await deliver(sessions, email_channel, phones, morning(date(2018, 9, 26)) + timedelta(hours=1))

    notices = (
        await session.scalars(
            select(Notice).where(
                col(Notice.recipient_unit_id) == world.units["A"].id, col(Notice.state) == "issued"
            )
        )
    ).all()
    assert len(notices) >= 2  # the reports owed, urged
    [mail] = mailbox.to("liaison@county-a.example.cn")
    assert mail["Subject"].startswith(f"督办通知 {len(notices)} 条")
    assert "督办系统" in mail["From"] and mail["Message-ID"].endswith("@duban>")
    text, html = _text(mail), _html(mail)
    assert text.count("【") == len(notices)
    for notice in notices:
        assert notice.requirements in text and str(notice.due_date) in html
    assert "<table" in html and ("红" in html or "黄" in html or "绿" in html)
    assert mailbox.to("head@county-a.example.cn") == []  # no supervision notice yet: nothing for the head
    # only county A's people have addresses: one sent, one refused; the second pass sends nothing
    assert (first["sent"], first["failed"], again["sent"], again["failed"]) == (1, 1, 0, 0)

    refused = await session.scalar(
        select(NoticeDelivery).where(col(NoticeDelivery.user_id) == people["gone"].id)
    )
    assert refused is not None and (refused.state, refused.attempts, refused.channel) == (
        "failed",
        1,
        "email",
    )
    assert refused.error is not None and "550" in refused.error and "no such user" in refused.error
    sent = await session.scalar(
        select(NoticeDelivery).where(col(NoticeDelivery.user_id) == people["liaison"].id)
    )
    assert (
        sent is not None and sent.state == "sent" and sent.provider_id and "queued as Q1" in sent.provider_id
    )

    # the office sees what never arrived, with the server's words; county B's office sees none of it
    failed = await client.get(
        "/api/v1/deliveries", params={"program_id": str(world.programs["P"].id), "state": "failed"},
        headers=world.auth("p_staff"),
    )  # fmt: skip
    assert failed.status_code == 200, failed.text
    [row] = failed.json()["data"]
    assert (row["user_id"], row["address"], row["channel"], row["attempts"]) == (
        str(people["gone"].id), REFUSED, "email", 1
    )  # fmt: skip
    assert "550" in row["error"] and row["subject"].startswith("督办通知") and row["next_attempt_at"] is None
    everything = (await client.get("/api/v1/deliveries", headers=world.auth("p_staff"))).json()
    assert {(d["to_name"], d["state"]) for d in everything["data"]} == {
        ("县liaison", "sent"),
        ("县gone", "failed"),
    }
    assert (await client.get("/api/v1/deliveries", headers=world.auth("b_admin"))).json()["count"] == 0

    # the notice and its digest name the people it went to, and through what
    shown = (await client.get(f"/api/v1/notices/{notices[0].id}", headers=world.auth("p_staff"))).json()
    assert {(t["to_name"], t["channel"], t["state"]) for t in shown["told"]} == {
        ("县liaison", "email", "sent"), ("县gone", "email", "failed")
    }  # fmt: skip
    digests = await client.get(
        "/api/v1/digests", params={"unit_id": str(world.units["A"].id)}, headers=world.auth("p_staff")
    )
    [digest] = digests.json()["data"]
    assert {t["address"] for t in digest["told"]} == {"liaison@county-a.example.cn", REFUSED}


async def test_the_supervision_rung_reaches_the_unit_head(
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    notifier_settings: NotifierSettings,
    smtp: tuple[Mailbox, int],
) -> None:
    world, (mailbox, port) = approved, smtp
    phones = SecretBox("test", "phone")
    await _people(session, world, phones)
    email_channel = channel(notifier_settings, port)
    for day in (date(2018, 9, 26), date(2018, 9, 29)):  # urging, then supervision (a make-up Saturday)
        await sweep(sessions, morning(day))
        await deliver(sessions, email_channel, phones, morning(day))
    [to_head] = mailbox.to("head@county-a.example.cn")
    supervision = (
        await session.scalars(
            select(Notice).where(
                col(Notice.recipient_unit_id) == world.units["A"].id, col(Notice.kind) == "supervision"
            )
        )
    ).all()
    assert supervision and _text(to_head).count("【") == len(supervision)
    assert "【督办通知】" in _text(to_head) or "督办" in to_head["Subject"]
    liaison = mailbox.to("liaison@county-a.example.cn")
    assert len(liaison) == 2 and "请呈单位负责人" in _text(liaison[1])  # the liaison is told too


async def test_a_server_that_is_away_is_tried_again_with_backoff_and_sends_once(
    approved: World,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    notifier_settings: NotifierSettings,
) -> None:
    world, phones, port = approved, SecretBox("test", "phone"), free_port()
    people = await _people(session, world, phones)
    email_channel = channel(notifier_settings, port)
    when = morning(date(2018, 9, 26))
    await sweep(sessions, when)
    down = await deliver(sessions, email_channel, phones, when)  # nothing listens on the port
    assert down["sent"] == 0 and down["retrying"] >= 2
    row = await session.scalar(
        select(NoticeDelivery).where(col(NoticeDelivery.user_id) == people["liaison"].id)
    )
    assert row is not None and (row.state, row.attempts, row.next_attempt_at) == (
        "pending",
        1,
        when + timedelta(minutes=1),
    )

    mailbox = Mailbox()
    server = Controller(mailbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        assert (await deliver(sessions, email_channel, phones, when + timedelta(seconds=30)))["sent"] == 0
        back = await deliver(sessions, email_channel, phones, when + timedelta(minutes=1))
        later = await deliver(sessions, email_channel, phones, when + timedelta(minutes=10))
    finally:
        server.stop()
    assert back["sent"] >= 1 and later["sent"] == 0
    assert len(mailbox.to("liaison@county-a.example.cn")) == 1
    await session.refresh(row)
    assert (row.state, row.attempts) == ("sent", 2)
