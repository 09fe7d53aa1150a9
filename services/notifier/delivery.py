"""Delivery to people: one daily digest per unit, to the people it concerns, through channels.

The inbox (`GET /notices`) and the signed webhooks carry every notice at once. People get one
message a working day instead of a message per notice: the first delivery pass in working
hours gathers each unit's notices not yet told (issued or reopened) into that day's digest —
one per (unit, day), a unique key — and, in the same transaction, its deliveries: one per
person and channel (`notice_delivery`, unique on digest, person and channel). The unit's
liaisons get every notice; its head the supervision notices, its principal the interview
summons (the rung's `recipient`), each person their own part; a unit whose people carry no
duties has its named liaison (`unit.liaison_*`) instead. Notices issued after a unit's digest
of the day wait for the next working morning; nothing is sent outside working hours or on a
day off.

A delivery the gateway refused for good (a bad address) is recorded as failed and never tried
again; one it could not take now (the server away, throttled, a crash) is tried again 1, 2, 4 …
minutes later, up to `DUBAN_DELIVERY_MAX_ATTEMPTS`. A pass leases each delivery before sending
it, so passes that overlap (the cron and the command line, or two notifiers) never send one
twice; a pass that dies mid-send leaves its lease to run out (at least once, never twice while
a pass lives).
"""

import html
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from prometheus_client import Counter
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.notifier.channels import Channel, Message, Refused, reaches
from services.notifier.sweep import quiet
from shared import calendar
from shared.clock import OFFICE_TZ
from shared.crypto import SecretBox
from shared.i18n import word
from shared.models import AppUser, Notice, NoticeDelivery, NoticeDigest, Program, Unit
from shared.notice_facts import AWAITING, WAITING, awaiting_since, colour_now
from shared.program_settings import ProgramSettings
from shared.vocabulary import Duty, NoticeKind, SendState

log = logging.getLogger(__name__)
# Messages handed to a channel: sent, failed for good, or to be tried again.
DIGESTS = Counter("duban_digests_total", "Notice digests handed to the delivery channel", ["outcome"])
DELIVERIES = Counter("duban_deliveries_total", "Digest deliveries to people", ["channel", "outcome"])
FOR_THE_HEAD = {"unit_head", "unit_principal"}  # the liaison passes these on (呈单位负责人)
OPENS = time(8, 30)  # when a message held back for the day may go: the next working morning
LEASE = timedelta(minutes=5)  # how long a pass may take to send one message before another may
COLOURS = {"red": ("红", "#c0392b"), "yellow": ("黄", "#b7950b"), "green": ("绿", "#1e8449")}


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


def items_of(
    notices: list[Notice], colours: dict[uuid.UUID, str | None], base_url: str
) -> list[dict[str, Any]]:
    """The notices as data: what an e-mail's table and an SMS template's parameters are made of."""
    return [
        {
            "id": str(n.id),
            "kind": n.kind,
            "kind_zh": word(NoticeKind, n.kind, "zh_CN"),
            "level": n.level,
            "requirements": n.requirements,
            "due_date": n.due_date.isoformat(),
            "colour": colours.get(n.id),
            "for_the_head": n.recipient in FOR_THE_HEAD,
            "link": f"{base_url.rstrip('/')}/notices/{n.id}" if base_url else None,
        }
        for n in notices
    ]


def as_html(subject: str, text: str, items: list[dict[str, Any]]) -> str:
    """The e-mail's HTML part: the text's first line, then a table of the notices with their
    colour (红黄绿灯), requirements and due date, each linked to its page when a base URL is set."""
    rows = []
    for item in items:
        label, hex_ = COLOURS.get(item["colour"] or "", ("", "#555"))
        what = html.escape(item["requirements"])
        if item["link"]:
            what = f'<a href="{html.escape(item["link"])}">{what}</a>'
        rows.append(
            f'<tr><td style="color:{hex_};font-weight:bold">{label}</td>'
            f"<td>{html.escape(item['kind_zh'])}</td><td>{what}</td><td>{item['due_date']}</td></tr>"
        )
    lines = [html.escape(line) for line in text.splitlines()]
    table = (
        '<table border="1" cellpadding="4" style="border-collapse:collapse">'
        "<tr><th>灯</th><th>类别</th><th>要求</th><th>办理期限</th></tr>" + "".join(rows) + "</table>"
        if rows
        else ""
    )
    rest = "".join(f"<p>{line}</p>" for line in lines[1:] if not line[:1].isdigit())
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(subject)}</title>'
        f"</head><body><p>{lines[0] if lines else ''}</p>{table}{rest}</body></html>"
    )


@dataclass(frozen=True)
class Person:
    """Someone a unit's digest reaches: a user with duties, or the unit's own named liaison."""

    key: str
    user_id: uuid.UUID | None
    name: str | None
    email: str | None
    phone_sealed: str | None
    duties: frozenset[str]


async def people_of(session: AsyncSession, unit: Unit) -> list[Person]:
    """The unit's active users with duties; without a liaison among them, the unit's named one."""
    users = (
        await session.scalars(
            select(AppUser)
            .where(
                col(AppUser.unit_id) == unit.id, col(AppUser.is_active), func.cardinality(AppUser.duties) > 0
            )
            .order_by(col(AppUser.username))
        )
    ).all()
    people = [
        Person(str(u.id), u.id, u.display_name, u.email, u.mobile_encrypted, frozenset(u.duties))
        for u in users
    ]
    if not any(Duty.LIAISON in p.duties for p in people):  # reached where a channel needs no address
        people.insert(
            0,
            Person(
                "liaison",
                None,
                unit.liaison_name,
                None,
                unit.liaison_phone_encrypted,
                frozenset({Duty.LIAISON}),
            ),
        )
    return people


def share(person: Person, notices: list[Notice], people: list[Person]) -> list[Notice]:
    """The notices of the digest `person` gets: a liaison every one; a head those for the head
    (and the principal's when the unit has no principal); a principal the principal's."""
    if Duty.LIAISON in person.duties:
        return notices
    principals = any(Duty.UNIT_PRINCIPAL in p.duties for p in people)
    wanted = set()
    if Duty.UNIT_HEAD in person.duties:
        wanted |= {"unit_head"} | (set() if principals else {"unit_principal"})
    if Duty.UNIT_PRINCIPAL in person.duties:
        wanted.add("unit_principal")
    return [n for n in notices if n.recipient in wanted]


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


async def gather(
    session: AsyncSession,
    as_of: datetime,
    cal: calendar.WorkingCalendar,
    channels: Sequence[Channel] = (),
    phones: SecretBox | None = None,
    base_url: str = "",
) -> int:
    """Write today's digest of each unit with notices not yet told (once per unit and day), and
    its deliveries: to each person it concerns, through each channel that reaches them."""
    today = as_of.astimezone(OFFICE_TZ).date()
    waiting = col(Notice.digest_id).is_(None), col(Notice.state).in_(WAITING)
    offices = await undecided(session, today, cal)
    units = set(await session.scalars(select(col(Notice.recipient_unit_id)).where(*waiting).distinct()))
    colour = await colour_now(session, as_of)
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
        rows = (
            await session.execute(
                select(Notice, colour)
                .where(col(Notice.recipient_unit_id) == unit_id, *waiting)
                .order_by(col(Notice.level).desc(), col(Notice.due_date), col(Notice.issued_at))
                .with_for_update(of=Notice)
            )
        ).all()
        notices = [n for n, _ in rows]
        colours = {n.id: c for n, c in rows}
        decisions = offices.get(unit_id, [])
        subject, body = compose(unit.name, today, notices, decisions)
        await session.execute(
            update(NoticeDigest)
            .where(col(NoticeDigest.id) == digest_id)
            .values(to_name=unit.liaison_name, body=f"{subject}\n{body}",
                    notices=len(notices) + len(decisions), planned_at=as_of)
        )  # fmt: skip
        await session.execute(
            update(Notice).where(col(Notice.id).in_([n.id for n in notices])).values(digest_id=digest_id)
        )
        people = await people_of(session, unit)
        for person in people:
            theirs = share(person, notices, people)
            told = decisions if Duty.LIAISON in person.duties else []
            if not theirs and not told:
                continue
            subject, text = compose(unit.name, today, theirs, told)
            items = items_of(theirs, colours, base_url)
            content = {
                "subject": subject,
                "text": text,
                "html": as_html(subject, text, items),
                "items": items,
            }
            await _plan(session, digest_id, unit_id, person, channels, phones, content, as_of)
        written += 1
    return written


async def _plan(
    session: AsyncSession,
    digest_id: uuid.UUID,
    unit_id: uuid.UUID,
    person: Person,
    channels: Sequence[Channel],
    phones: SecretBox | None,
    content: dict[str, Any],
    as_of: datetime,
) -> None:
    phone = phones.open(person.phone_sealed) if phones is not None and person.phone_sealed else None
    for channel in channels:
        address = reaches(channel, email=person.email, phone=phone)
        if address is None:
            continue  # no address this channel can use: the person's other channels carry it
        kind = getattr(channel, "address", None)
        said_to = phone if kind == "phone" else (person.email or "").lower() if kind == "email" else None
        key = phones.fingerprint(said_to) if phones is not None and said_to else None
        await session.execute(
            insert(NoticeDelivery)
            .values(
                id=uuid.uuid4(),
                digest_id=digest_id,
                unit_id=unit_id,
                user_id=person.user_id,
                person=person.key,
                to_name=person.name,
                address=address or None,
                address_key=key,
                channel=channel.name,
                duties=sorted(person.duties),
                content=content,
                state=SendState.PENDING,
                attempts=0,
                next_attempt_at=as_of,
                created_at=as_of,
            )
            .on_conflict_do_nothing(index_elements=["digest_id", "person", "channel"])
        )


async def _plan_earlier(
    session: AsyncSession, channels: Sequence[Channel], phones: SecretBox | None, as_of: datetime
) -> None:
    """Digests written before deliveries existed and never sent: to the unit's liaisons, with
    the text they were written with."""
    for digest in await session.scalars(
        select(NoticeDigest)
        .where(col(NoticeDigest.planned_at).is_(None), col(NoticeDigest.sent_at).is_(None))
        .with_for_update(skip_locked=True)
    ):
        unit = await session.get_one(Unit, digest.unit_id)
        subject, _, text = digest.body.partition("\n")
        content = {"subject": subject, "text": text, "html": as_html(subject, text, []), "items": []}
        for person in await people_of(session, unit):
            if Duty.LIAISON in person.duties:
                await _plan(session, digest.id, unit.id, person, channels, phones, content, as_of)
        digest.planned_at = as_of


async def deliver(
    sessions: async_sessionmaker[AsyncSession],
    channels: Channel | Sequence[Channel],
    phones: SecretBox,
    as_of: datetime,
    lease: timedelta = LEASE,
    max_attempts: int = 6,
    base_url: str = "",
) -> dict[str, int]:
    """Gather today's digests and send every delivery due; nothing in quiet hours."""
    chosen: Sequence[Channel] = [channels] if isinstance(channels, Channel) else channels
    by_name = {c.name: c for c in chosen}
    async with sessions() as session, session.begin():
        year = as_of.astimezone(OFFICE_TZ).year
        cal = await calendar.load(session, [year - 1, year])  # last year's: a January's reminders
        if quiet(as_of, cal):
            return {"gathered": 0, "sent": 0}
        await _plan_earlier(session, list(by_name.values()), phones, as_of)
        gathered = await gather(session, as_of, cal, list(by_name.values()), phones, base_url)
    counts = {"gathered": gathered, "sent": 0, "failed": 0, "retrying": 0}
    for delivery, unit_name, email, mobile, liaison_phone in await _claim(
        sessions, lease, as_of, list(by_name)
    ):
        sealed = liaison_phone if delivery.user_id is None else mobile
        content = delivery.content
        message = Message(
            delivery.digest_id, delivery.unit_id, unit_name, delivery.to_name,
            phones.open(sealed) if sealed else None, content["subject"], content["text"],
            delivery_id=delivery.id, to_email=email, html=content.get("html"),
            items=tuple(content.get("items", ())),
        )  # fmt: skip
        channel = by_name[delivery.channel]
        if (cap := getattr(channel, "daily_cap", None)) and await _sent_today(
            sessions, delivery, as_of
        ) >= cap:
            tomorrow = datetime.combine(
                as_of.astimezone(OFFICE_TZ).date() + timedelta(days=1), OPENS, OFFICE_TZ
            )
            said = f"{cap} messages a day to one person through {channel.name}: the rest wait for tomorrow"
            await _settle(sessions, delivery, claimed_until=None, next_attempt_at=tomorrow, error=said)
            counts["retrying"] += 1
            continue
        attempts = delivery.attempts + 1
        values: dict[str, Any]
        try:
            provider_id = await channel.send(message)
        except Refused as e:
            outcome, values = "failed", {"state": SendState.FAILED, "error": str(e)[:2000]}
        except Exception as e:  # the gateway could not take it now: again later, with backoff
            log.warning(
                "notice delivery not sent",
                extra={"delivery_id": str(delivery.id), "channel": channel.name, "error": repr(e)[:300]},
            )
            if attempts >= max_attempts:
                outcome, values = (
                    "failed",
                    {"state": SendState.FAILED, "error": f"{attempts} attempts: {e}"[:2000]},
                )
            else:
                later = as_of + timedelta(minutes=2 ** (attempts - 1))
                outcome, values = "retrying", {"error": str(e)[:2000], "next_attempt_at": later}
        else:
            outcome = "sent"
            values = {
                "state": SendState.SENT,
                "sent_at": func.now(),
                "next_attempt_at": as_of,  # the office's instant it went: what a day's cap counts by
                "provider_id": provider_id[:128] if provider_id else None,
                "error": None,
            }
        await _settle(sessions, delivery, attempts=attempts, claimed_until=None, **values)
        DELIVERIES.labels(channel.name, outcome).inc()
        DIGESTS.labels("sent" if outcome == "sent" else "failed").inc()
        counts[outcome] += 1
    return counts


async def _sent_today(
    sessions: async_sessionmaker[AsyncSession], delivery: NoticeDelivery, as_of: datetime
) -> int:
    """Messages of the office's day of `as_of` sent through the delivery's channel to its address
    (one number may be the liaison's of several units)."""
    if delivery.address_key is None:
        return 0
    day = datetime.combine(as_of.astimezone(OFFICE_TZ).date(), time(0), OFFICE_TZ)
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(NoticeDelivery)
            .where(
                col(NoticeDelivery.channel) == delivery.channel,
                col(NoticeDelivery.address_key) == delivery.address_key,
                col(NoticeDelivery.created_at) >= day,
                col(NoticeDelivery.created_at) < day + timedelta(days=1),
                col(NoticeDelivery.state) == SendState.SENT,
            )
        )
        return int(count or 0)


async def _claim(
    sessions: async_sessionmaker[AsyncSession], lease: timedelta, as_of: datetime, channels: list[str]
) -> list[Any]:
    """Lease the deliveries due that no other pass is sending (one UPDATE: of two passes at
    once, the second waits for the first's rows and finds them leased)."""
    async with sessions() as session, session.begin():
        claimed = (
            select(col(NoticeDelivery.id))
            .where(
                col(NoticeDelivery.state) == SendState.PENDING,
                col(NoticeDelivery.next_attempt_at) <= as_of,
                col(NoticeDelivery.channel).in_(channels),
                or_(
                    col(NoticeDelivery.claimed_until).is_(None),
                    col(NoticeDelivery.claimed_until) < func.now(),
                ),
            )
            .order_by(col(NoticeDelivery.created_at), col(NoticeDelivery.id))
            .with_for_update(skip_locked=True)
        )
        ids = list(
            await session.scalars(
                update(NoticeDelivery)
                .where(col(NoticeDelivery.id).in_(claimed.scalar_subquery()))
                .values(claimed_until=func.now() + lease)
                .returning(col(NoticeDelivery.id))
            )
        )
        if not ids:
            return []
        return list(
            (
                await session.execute(
                    select(
                        NoticeDelivery,
                        col(Unit.name),
                        col(AppUser.email),
                        col(AppUser.mobile_encrypted),
                        col(Unit.liaison_phone_encrypted),
                    )
                    .join(Unit, col(Unit.id) == col(NoticeDelivery.unit_id))
                    .outerjoin(AppUser, col(AppUser.id) == col(NoticeDelivery.user_id))
                    .where(col(NoticeDelivery.id).in_(ids))
                    .order_by(col(NoticeDelivery.created_at), col(NoticeDelivery.id))
                )
            ).all()
        )


async def _settle(
    sessions: async_sessionmaker[AsyncSession], delivery: NoticeDelivery, **values: Any
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(NoticeDelivery).where(col(NoticeDelivery.id) == delivery.id).values(**values)
        )
        if values.get("state") == SendState.SENT:  # the digest: when it first reached someone
            await session.execute(
                update(NoticeDigest)
                .where(col(NoticeDigest.id) == delivery.digest_id, col(NoticeDigest.sent_at).is_(None))
                .values(sent_at=func.now(), channel=delivery.channel)
            )


__all__ = ["Message", "compose", "deliver", "gather", "people_of", "share"]
