"""Delivery to people: one daily digest per unit's liaison, through a channel (SMS, e-mail).

The inbox (`GET /notices`) and the signed webhooks carry every notice at once. People get one
message a working day instead of a message per notice: the first delivery pass in working
hours gathers each unit's notices not yet told (issued or reopened) into that day's digest —
one per (unit, day), a unique key, written before it is sent — and hands it to the channel.
Notices issued after a unit's digest of the day wait for the next working morning; nothing is
sent outside working hours or on a day off. A digest the channel did not take (an error, a
crash) is sent again on a later pass: at least once, never a second digest for the same day.
A pass leases each digest before sending it, so passes that overlap (the cron and the command
line, or two notifiers) never send one digest twice.

The channel is configuration (`DUBAN_NOTICE_CHANNEL`): `log` (the default) writes each message to
the log; `package.module:factory` names a gateway's adapter — a callable returning an object
with `name` and `async send(message)`.
"""

import importlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from prometheus_client import Counter
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.notifier.sweep import quiet
from shared import calendar
from shared.clock import OFFICE_TZ
from shared.crypto import SecretBox
from shared.i18n import word
from shared.models import Notice, NoticeDigest, Program, Unit
from shared.notice_facts import AWAITING, awaiting_since
from shared.program_settings import ProgramSettings
from shared.vocabulary import NoticeKind, NoticeState

log = logging.getLogger(__name__)
# Digests handed to the channel: sent, or failed (kept and tried again on the next pass).
DIGESTS = Counter("duban_digests_total", "Notice digests handed to the delivery channel", ["outcome"])
WAITING = (NoticeState.ISSUED, NoticeState.REOPENED)
FOR_THE_HEAD = {"unit_head", "unit_principal"}  # the liaison passes these on (呈单位负责人)
LEASE = timedelta(minutes=5)  # how long a pass may take to send one digest before another may


@dataclass(frozen=True)
class Message:
    digest_id: uuid.UUID
    unit_id: uuid.UUID
    unit_name: str
    to_name: str | None
    to_phone: str | None
    subject: str
    body: str


class Channel(Protocol):
    name: str

    async def send(self, message: Message) -> None: ...


class LoggingChannel:
    """The default channel: each message is a log line (phone masked), for a deployment with no
    gateway yet and for tests."""

    name = "log"

    async def send(self, message: Message) -> None:
        phone = message.to_phone
        masked = f"{phone[:3]}****{phone[-4:]}" if phone and len(phone) >= 7 else None
        log.info(
            "notice digest",
            extra={"digest_id": str(message.digest_id), "unit": message.unit_name, "to": message.to_name,
                   "phone": masked, "subject": message.subject, "body": message.body},
        )  # fmt: skip


def load_channel(spec: str) -> Channel:
    """`log`, or `package.module:factory` (a gateway's adapter); a bad name fails at start."""
    if spec == "log":
        return LoggingChannel()
    module, _, attr = spec.partition(":")
    if not module or not attr:
        raise ValueError(f"DUBAN_NOTICE_CHANNEL: expected 'log' or 'package.module:factory', got {spec!r}")
    channel: Channel = getattr(importlib.import_module(module), attr)()
    return channel


@dataclass(frozen=True)
class Undecided:
    """An answer the office has left undecided: whose, on what, since when."""

    unit: str
    kind: str
    requirements: str
    since: date
    explanation: bool


def compose(
    unit: str, day: date, notices: list[Notice], decisions: Sequence[Undecided] = ()
) -> tuple[str, str]:
    """The digest's subject and body, in the words a liaison reads; an office's also lists the
    answers waiting for its decision."""
    lines = []
    if notices:
        lines.append(f"{unit}：截至 {day}，贵单位有 {len(notices)} 条新的督办通知，请按期办理并书面反馈。")
        for n, notice in enumerate(notices, 1):
            head = "（请呈单位负责人）" if notice.recipient in FOR_THE_HEAD else ""
            lines.append(
                f"{n}. 【{word(NoticeKind, notice.kind, 'zh_CN')}】{notice.requirements}{head}"
                f"（{notice.due_date} 前办理）"
            )
    if decisions:
        lines.append(f"{unit}：截至 {day}，有 {len(decisions)} 件反馈或延期申请等待贵单位决定，请及时审核。")
        for n, u in enumerate(decisions, 1):
            what = "延期申请" if u.explanation else "书面反馈"
            lines.append(
                f"{n}. {u.unit}对【{word(NoticeKind, u.kind, 'zh_CN')}】{u.requirements}的{what}"
                f"（{u.since} 提交）"
            )
    lines.append("详情请登录督办系统查看。")
    parts = [f"督办通知 {len(notices)} 条"] if notices else []
    parts += [f"待决定 {len(decisions)} 件"] if decisions else []
    return f"{'，'.join(parts)}（{day}）", "\n".join(lines)


async def undecided(
    session: AsyncSession, today: date, cal: calendar.WorkingCalendar
) -> dict[Any, list[Undecided]]:
    """Each office's answers left undecided longer than its program's
    `decision_reminder_working_days`, the longest waiting first."""
    since = awaiting_since()
    out: dict[Any, list[Undecided]] = {}
    for program_id, office, settings in await session.execute(
        select(col(Program.id), col(Program.office_unit_id), col(Program.settings))
    ):
        days = ProgramSettings.model_validate(settings).notice_rules.decision_reminder_working_days
        cutoff = cal.add_working_days(today, -days).date
        rows = await session.execute(
            select(col(Unit.name), col(Notice.kind), col(Notice.requirements), since, col(Notice.state))
            .join(Unit, col(Unit.id) == col(Notice.recipient_unit_id))
            .where(
                col(Notice.program_id) == program_id,
                col(Notice.state).in_(AWAITING),
                func.timezone(str(OFFICE_TZ), since) < cutoff + timedelta(days=1),
            )
            .order_by(since, col(Notice.id))
        )
        for name, kind, said, at, state in rows:
            out.setdefault(office, []).append(
                Undecided(name, kind, said, at.astimezone(OFFICE_TZ).date(), state == AWAITING[1])
            )
    return out


async def gather(session: AsyncSession, as_of: datetime, cal: calendar.WorkingCalendar) -> int:
    """Write today's digest of each unit with notices not yet told (once per unit and day)."""
    today = as_of.astimezone(OFFICE_TZ).date()
    waiting = col(Notice.digest_id).is_(None), col(Notice.state).in_(WAITING)
    offices = await undecided(session, today, cal)
    units = set(await session.scalars(select(col(Notice.recipient_unit_id)).where(*waiting).distinct()))
    written = 0
    for unit_id in sorted(units | set(offices), key=str):
        digest_id = await session.scalar(
            insert(NoticeDigest)
            .values(id=uuid.uuid4(), unit_id=unit_id, day=today, body="", notices=0, created_at=as_of)
            .on_conflict_do_nothing(index_elements=["unit_id", "day"])
            .returning(col(NoticeDigest.id))
        )
        if digest_id is None:
            continue  # told today already: these wait for the next working morning
        unit = await session.get_one(Unit, unit_id)
        notices = list(
            await session.scalars(
                select(Notice)
                .where(col(Notice.recipient_unit_id) == unit_id, *waiting)
                .order_by(col(Notice.level).desc(), col(Notice.due_date), col(Notice.issued_at))
                .with_for_update()
            )
        )
        subject, body = compose(unit.name, today, notices, offices.get(unit_id, []))
        await session.execute(
            update(NoticeDigest)
            .where(col(NoticeDigest.id) == digest_id)
            .values(
                to_name=unit.liaison_name,
                body=f"{subject}\n{body}",
                notices=len(notices) + len(offices.get(unit_id, [])),
            )
        )
        await session.execute(
            update(Notice).where(col(Notice.id).in_([n.id for n in notices])).values(digest_id=digest_id)
        )
        written += 1
    return written


async def deliver(
    sessions: async_sessionmaker[AsyncSession],
    channel: Channel,
    phones: SecretBox,
    as_of: datetime,
    lease: timedelta = LEASE,
) -> dict[str, int]:
    """Gather today's digests and send every digest not yet sent; nothing in quiet hours."""
    async with sessions() as session, session.begin():
        year = as_of.astimezone(OFFICE_TZ).year
        cal = await calendar.load(session, [year - 1, year])  # last year's: a January's reminders
        if quiet(as_of, cal):
            return {"gathered": 0, "sent": 0}
        gathered = await gather(session, as_of, cal)
    sent = 0
    for digest, unit_name, phone in await _claim(sessions, lease):
        subject, _, body = digest.body.partition("\n")
        message = Message(
            digest.id, digest.unit_id, unit_name, digest.to_name, phones.open(phone), subject, body
        )
        try:
            await channel.send(message)
        except Exception:  # the channel's failure: the digest stays unsent, tried on the next pass
            log.exception("notice digest not sent", extra={"digest_id": str(digest.id)})
            DIGESTS.labels("failed").inc()
            await _settle(sessions, digest.id, claimed_until=None)
            continue
        await _settle(sessions, digest.id, sent_at=func.now(), channel=channel.name)
        DIGESTS.labels("sent").inc()
        sent += 1
    return {"gathered": gathered, "sent": sent}


async def _claim(sessions: async_sessionmaker[AsyncSession], lease: timedelta) -> list[Any]:
    """Lease the unsent digests no other pass is sending (one UPDATE: of two passes at once, the
    second waits for the first's rows and finds them leased). A pass that dies mid-send leaves
    its lease to run out, and a later pass sends the digest then: at least once, never twice
    while a pass lives."""
    async with sessions() as session, session.begin():
        claimed = (
            select(col(NoticeDigest.id))
            .where(
                col(NoticeDigest.sent_at).is_(None),
                or_(col(NoticeDigest.claimed_until).is_(None), col(NoticeDigest.claimed_until) < func.now()),
            )
            .order_by(col(NoticeDigest.created_at))
            .with_for_update(skip_locked=True)
        )
        ids = list(
            await session.scalars(
                update(NoticeDigest)
                .where(col(NoticeDigest.id).in_(claimed.scalar_subquery()))
                .values(claimed_until=func.now() + lease)
                .returning(col(NoticeDigest.id))
            )
        )
        if not ids:
            return []
        return list(
            (
                await session.execute(
                    select(NoticeDigest, col(Unit.name), col(Unit.liaison_phone_encrypted))
                    .join(Unit, col(Unit.id) == col(NoticeDigest.unit_id))
                    .where(col(NoticeDigest.id).in_(ids))
                    .order_by(col(NoticeDigest.created_at))
                )
            ).all()
        )


async def _settle(sessions: async_sessionmaker[AsyncSession], digest_id: uuid.UUID, **values: Any) -> None:
    async with sessions() as session, session.begin():
        await session.execute(update(NoticeDigest).where(col(NoticeDigest.id) == digest_id).values(**values))


__all__ = ["Channel", "LoggingChannel", "Message", "compose", "deliver", "gather", "load_channel"]
