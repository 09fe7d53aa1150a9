"""The sweep: what is owed as of an instant, chased up the ladder one rung at a time.

As of an instant (a cron's now, or `duban notifier sweep --as-of` replaying the past), for every
program, each rule (services/notifier/rules.py) finds the matters that stand. A matter whose
first rung is due opens a chain (one per rule, subject and period) holding a copy of the
program's ladder (not for a deadline before the program's `notice_rules.chase_from`: an office
going live mid-year enters the months before as history); an open chain whose matter is no
longer found is closed with its notices — unless the chain opened or climbed after the sweep's
instant: a replay behind the live clock never closes what the live clock has since chased.
Then every open chain whose next rung is due by today (an index over open chains: the cost grows
with what is open, not with history) climbs one rung —

- a deadline's chain starts counted from the deadline: `after_working_days` before its last day
  when negative (the reminder, 2 working days before it), else that many working days after the
  first working day past it (the urging notice, on that day); a condition rule's chain starts at
  its own rung on the day it finds the matter;
- every later level: `after_working_days` after the day the previous level was issued.

A sweep issues at most one rung per chain: the highest of those counted from the deadline that
is due, or the next one. A higher rung supersedes the lower ones still standing. A paused chain
(an explanation awaiting the office) does not climb. Quiet hours: nothing is issued outside
working hours (08:30–17:30, Beijing) or on a day off; it waits for the next working morning (a
make-up Saturday is a working day). Closing goes on at any hour. Exactly one notice per (chain,
level) and one chain per (rule, subject, period): unique keys written in the sweep's transaction,
so a sweep run twice, or killed and run again, issues nothing twice. One sweep at a time (an
advisory lock), however many workers run the cron.
"""

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ARRAY, String, Uuid, bindparam, exists, func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.notifier import rules
from shared import calendar
from shared.calendar import WorkingCalendar
from shared.clock import OFFICE_TZ
from shared.models import Notice, NoticeChain, Program, Webhook
from shared.outbox import publish_events
from shared.program_settings import EscalationLevel, EscalationPolicy, ProgramSettings
from shared.queues import EventPayload
from shared.vocabulary import ChainState, NoticeKind, NoticeState, WebhookEvent

log = logging.getLogger(__name__)
SWEEP_LOCK = 0x6475_6261_6E01  # pg_advisory_xact_lock key: one sweep at a time
FROM_DEADLINE = (0, 1)  # levels whose day counts from the deadline
WORKING_HOURS = (time(8, 30), time(17, 30))  # Beijing time: notices go out within them only
STANDING = (
    NoticeState.ISSUED,
    NoticeState.FEEDBACK_SUBMITTED,
    NoticeState.EXPLANATION_SUBMITTED,
    NoticeState.REOPENED,
)
CHUNK = 1000  # rows per multi-row INSERT (asyncpg takes at most 32,767 parameters)
REQUIREMENTS = {
    NoticeKind.REMINDER: "{matter}：将于 {due} 到期，请按时完成。",
    NoticeKind.URGING: "{matter}：已到期未完成，请立即办理并书面反馈结果；确实无法按期完成的，书面说明原因。",
    NoticeKind.SUPERVISION: "{matter}：经催办仍未办结，请单位负责人督促办理，并书面说明原因。",
    NoticeKind.CRITICISM: "{matter}：经催办、督办仍未办结，予以通报批评。",
    NoticeKind.INTERVIEW: "{matter}：请单位主要负责人接受约谈，限期整改。",
    NoticeKind.ACCOUNTABILITY: "{matter}：移交纪检监察和组织部门问责。",
    NoticeKind.PRAISE: "{matter}：予以通报表扬。",
}


def requirements(kind: str, title: str, due: date) -> str:
    return REQUIREMENTS[NoticeKind(kind)].format(matter=title, due=due)


@dataclass
class Outcome:
    opened: int = 0
    issued: int = 0
    closed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"opened": self.opened, "issued": self.issued, "closed": self.closed}


def level_day(
    policy: EscalationPolicy, level: int, due: date, previous: date | None, cal: WorkingCalendar
) -> date | None:
    """The day `level` comes due in a chain for a deadline on `due` (its last day), the
    previous level having been issued on `previous`; None when time never brings it."""
    rung = rung_at(policy, level)
    if rung is None or rung.after_working_days is None:
        return None
    after = rung.after_working_days
    if level in FROM_DEADLINE:
        return cal.add_working_days(due, after if after < 0 else after + 1).date
    if previous is None:
        return None
    return cal.add_working_days(previous, after).date


def rung_at(policy: EscalationPolicy, level: int) -> EscalationLevel | None:
    return next((r for r in policy.levels if r.level == level), None)


def quiet(as_of: datetime, cal: WorkingCalendar) -> bool:
    """Outside working hours or on a day off (Beijing): nothing is issued now."""
    local = as_of.astimezone(OFFICE_TZ)
    return not cal.is_working_day(local.date()) or not WORKING_HOURS[0] <= local.time() <= WORKING_HOURS[1]


async def sweep(sessions: async_sessionmaker[AsyncSession], as_of: datetime) -> dict[str, int]:
    """Everything due as of `as_of`, in one transaction."""
    today = as_of.astimezone(OFFICE_TZ).date()
    outcome = Outcome()
    async with sessions() as session, session.begin():
        await session.execute(select(func.pg_advisory_xact_lock(SWEEP_LOCK)))
        programs = list(await session.scalars(select(Program)))
        cal = await calendar.load(session, sorted({p.year for p in programs} | {today.year - 1, today.year}))
        hushed = quiet(as_of, cal)
        settings = {p.id: ProgramSettings.model_validate(p.settings) for p in programs}
        for program in programs:
            ctx = rules.Context(session, program, settings[program.id], cal, as_of)
            for found in await rules.find(ctx):
                await _close(session, program, found, as_of, outcome)
                if not hushed:
                    await _open(session, program, settings[program.id], found, cal, as_of, outcome)
        if not hushed:
            await _climb(session, settings, cal, as_of, outcome)
    if outcome.issued or outcome.closed:
        log.info("sweep", extra={"as_of": as_of.isoformat(), **outcome.as_dict()})
    return outcome.as_dict()


def _first_level(policy: EscalationPolicy, due: date, cal: WorkingCalendar, today: date) -> int | None:
    """The highest level counted from the deadline that is due by `today`."""
    due_levels = [
        lv for lv in FROM_DEADLINE if (day := level_day(policy, lv, due, None, cal)) and day <= today
    ]
    return max(due_levels) if due_levels else None


def _first_day(policy: EscalationPolicy, due: date, cal: WorkingCalendar) -> date | None:
    """The day a deadline's chain opens: its earliest level counted from the deadline."""
    days = [d for lv in FROM_DEADLINE if (d := level_day(policy, lv, due, None, cal))]
    return min(days) if days else None


def _array(values: list[Any], kind: Any) -> Any:
    return bindparam(None, values, type_=ARRAY(kind))


async def _close(
    session: AsyncSession, program: Program, found: rules.Found, as_of: datetime, outcome: Outcome
) -> None:
    """Close the rule's open chains whose matter no longer stands as of `as_of`, with their standing
    notices; never a chain opened or climbed after `as_of`."""
    subjects = _array([m.subject_id for m in found.matters], Uuid())
    if found.per_subject:
        standing = col(NoticeChain.subject_id).in_(select(func.unnest(subjects)))
    else:
        periods = _array([m.period for m in found.matters], String())
        standing = tuple_(col(NoticeChain.subject_id), col(NoticeChain.period)).in_(
            select(func.unnest(subjects), func.unnest(periods))
        )
    closed = list(
        await session.scalars(
            update(NoticeChain)
            .where(
                col(NoticeChain.program_id) == program.id,
                col(NoticeChain.rule) == found.rule,
                col(NoticeChain.state) == ChainState.OPEN,
                ~standing,
                # a sweep as of an instant before the chain's last step (a replay behind the live
                # clock) saw a world the chain has moved past: it leaves the chain alone
                col(NoticeChain.opened_at) <= as_of,
                ~exists().where(col(Notice.chain_id) == col(NoticeChain.id), col(Notice.issued_at) > as_of),
            )
            .values(
                state=ChainState.CLOSED,
                closed_reason=found.closed_reason,
                closed_at=as_of,
                next_level_on=None,
                paused_on=None,
            )
            .returning(col(NoticeChain.id))
        )
    )
    if closed:
        await close_notices(session, closed, found.closed_reason, as_of)
    outcome.closed += len(closed)


async def close_notices(session: AsyncSession, chain_ids: list[Any], reason: str, at: datetime) -> None:
    """Close the standing notices of closed chains, each a `notice.closed` event."""
    ended = await session.execute(
        update(Notice)
        .where(col(Notice.chain_id).in_(chain_ids), col(Notice.state).in_(STANDING))
        .values(state=NoticeState.CLOSED, closed_at=at)
        .returning(
            col(Notice.id),
            col(Notice.kind),
            col(Notice.level),
            col(Notice.period),
            col(Notice.subject_type),
            col(Notice.subject_id),
            col(Notice.recipient_unit_id),
        )
    )
    await _announce(
        session,
        [
            EventPayload(
                event=WebhookEvent.NOTICE_CLOSED,
                subject_type="notice",
                subject_id=notice_id,
                occurred_at=at,
                data={
                    "kind": kind,
                    "level": level,
                    "reason": reason,
                    "recipient_unit_id": str(unit),
                    "matter": {"type": subject_type, "id": str(subject_id), "period": period},
                },
            )
            for notice_id, kind, level, period, subject_type, subject_id, unit in ended.all()
        ],
    )


_OPEN = text(
    "INSERT INTO notice_chain (id, program_id, rule, subject_type, subject_id, schedule_kind, period, "
    "recipient_unit_id, due_date, policy, level, first_level, next_level_on, state, opened_at, title) "
    "SELECT gen_random_uuid(), :program, :rule, v.subject_type, v.subject_id, v.kind, v.period, v.recipient, "
    "v.due, CAST(:policy AS jsonb), -1, CAST(:first_level AS integer), v.first, 'open', :as_of, v.title "
    "FROM unnest(CAST(:types AS text[]), CAST(:ids AS uuid[]), CAST(:kinds AS text[]), "
    "CAST(:periods AS text[]), CAST(:recipients AS uuid[]), CAST(:dues AS date[]), CAST(:firsts AS date[]), "
    "CAST(:titles AS text[])) AS v(subject_type, subject_id, kind, period, recipient, due, first, title) "
    "ON CONFLICT (rule, subject_type, subject_id, period) DO NOTHING"
)


async def _open(
    session: AsyncSession,
    program: Program,
    settings: ProgramSettings,
    found: rules.Found,
    cal: WorkingCalendar,
    as_of: datetime,
    outcome: Outcome,
) -> None:
    """Open a chain for each matter found whose first rung is due by today (never twice), unless
    its deadline falls before the program's `chase_from`: one INSERT … SELECT FROM unnest(…) … ON
    CONFLICT DO NOTHING."""
    today = as_of.astimezone(OFFICE_TZ).date()
    policy = settings.escalation_policy
    busy: set[Any] = set()
    if found.per_subject:  # one open chain per subject: the run found last month is still chased
        busy = set(
            await session.scalars(
                select(col(NoticeChain.subject_id)).where(
                    col(NoticeChain.program_id) == program.id,
                    col(NoticeChain.rule) == found.rule,
                    col(NoticeChain.state) == ChainState.OPEN,
                )
            )
        )
    first_days: dict[date, date | None] = {}
    due: list[tuple[rules.Matter, date]] = []
    since = settings.notice_rules.chase_from
    for m in found.matters:
        if m.subject_id in busy or (since is not None and m.due < since):
            continue
        if found.first_level is None:
            if m.due not in first_days:
                first_days[m.due] = _first_day(policy, m.due, cal)
            first = first_days[m.due]
        else:
            first = m.first_on
        if first is not None and first <= today:
            due.append((m, first))
    if not due:
        return
    opened = await session.execute(
        _OPEN,
        {
            "program": program.id,
            "rule": str(found.rule),
            "policy": policy.model_dump_json(),
            "first_level": found.first_level,
            "as_of": as_of,
            "types": [m.subject_type for m, _ in due],
            "ids": [m.subject_id for m, _ in due],
            "kinds": [m.kind or str(found.rule) for m, _ in due],
            "periods": [m.period for m, _ in due],
            "recipients": [m.recipient_unit_id for m, _ in due],
            "dues": [m.due for m, _ in due],
            "firsts": [first for _, first in due],
            "titles": [m.title for m, _ in due],
        },
    )
    outcome.opened += opened.rowcount  # type: ignore[attr-defined]


_ISSUE = text(
    "INSERT INTO notice (id, chain_id, program_id, kind, level, recipient_unit_id, recipient, subject_type, "
    "subject_id, period, requirements, issued_on, issued_at, due_date, state, parent_id) "
    "SELECT v.id, v.chain_id, v.program_id, v.kind, v.level, v.recipient_unit_id, v.recipient, "
    "v.subject_type, v.subject_id, v.period, v.requirements, :today, :as_of, v.due_date, 'issued', "
    "(SELECT p.id FROM notice p WHERE p.chain_id = v.chain_id AND p.level = v.previous) "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:chains AS uuid[]), CAST(:programs AS uuid[]), "
    "CAST(:kinds AS text[]), CAST(:levels AS integer[]), CAST(:units AS uuid[]), "
    "CAST(:recipients AS text[]), "
    "CAST(:types AS text[]), CAST(:subjects AS uuid[]), CAST(:periods AS text[]), "
    "CAST(:requirements AS text[]), CAST(:dues AS date[]), CAST(:previous AS integer[])) "
    "AS v(id, chain_id, program_id, kind, level, recipient_unit_id, recipient, subject_type, subject_id, "
    "period, requirements, due_date, previous) "
    "ON CONFLICT (chain_id, level) DO NOTHING RETURNING chain_id, parent_id"
)
# The rung a chain climbs from is the only one of it still standing (each climb supersedes the
# one before), so superseding is by the issued notices' parents: a lookup by primary key, whatever
# the planner believes of the notices this very transaction wrote (a join on (chain, level <)
# met its estimate of one standing notice with a nested loop over all of them: 15 s for 10,000).
_SUPERSEDE = text(
    "UPDATE notice SET state = 'superseded' "
    "WHERE id = ANY(CAST(:parents AS uuid[])) AND state = ANY(CAST(:standing AS text[]))"
)
_CLIMBED = text(
    "UPDATE notice_chain c SET level = v.level, last_issued_on = :today, next_level_on = v.next "
    "FROM unnest(CAST(:chains AS uuid[]), CAST(:levels AS integer[]), CAST(:nexts AS date[])) "
    "AS v(id, level, next) WHERE c.id = v.id"
)
_CHAIN_COLUMNS = (
    NoticeChain.id,
    NoticeChain.program_id,
    NoticeChain.level,
    NoticeChain.first_level,
    NoticeChain.due_date,
    NoticeChain.policy,
    NoticeChain.recipient_unit_id,
    NoticeChain.subject_type,
    NoticeChain.subject_id,
    NoticeChain.period,
    NoticeChain.title,
)


async def _climb(
    session: AsyncSession,
    settings: dict[Any, ProgramSettings],
    cal: WorkingCalendar,
    as_of: datetime,
    outcome: Outcome,
) -> None:
    """Each open chain whose next rung is due by today issues it (one rung per sweep): the chains
    read and locked in one SELECT, their notices, supersessions, next days and events written in
    one statement each."""
    today = as_of.astimezone(OFFICE_TZ).date()
    chains = (
        await session.execute(
            select(*(col(c) for c in _CHAIN_COLUMNS))
            .where(
                col(NoticeChain.state) == ChainState.OPEN,
                col(NoticeChain.next_level_on) <= today,
                col(NoticeChain.paused_on).is_(None),
            )
            .order_by(col(NoticeChain.id))
            .with_for_update()
        )
    ).all()
    policies: dict[str, EscalationPolicy] = {}
    issuing: list[dict[str, Any]] = []
    stuck: list[Any] = []  # at the top of their ladder by time: nothing more comes by itself
    for chain in chains:
        key = json.dumps(chain.policy, sort_keys=True)
        policy = policies.get(key) or policies.setdefault(key, EscalationPolicy.model_validate(chain.policy))
        if chain.level >= 0:
            level: int | None = chain.level + 1
        elif chain.first_level is not None:
            level = chain.first_level
        else:
            level = _first_level(policy, chain.due_date, cal, today)
            if level == 0 and today > chain.due_date:
                continue  # the reminder's moment passed with the deadline: the urging notice comes next
        rung = rung_at(policy, level) if level is not None else None
        if rung is None:
            if chain.level >= 0:
                stuck.append(chain.id)
            continue
        days = settings[chain.program_id].notice_rules.default_due_in_working_days
        issuing.append(
            {
                "id": uuid.uuid4(),
                "chain_id": chain.id,
                "program_id": chain.program_id,
                "kind": str(rung.kind),
                "level": rung.level,
                "recipient_unit_id": chain.recipient_unit_id,
                "recipient": rung.recipient,
                "subject_type": chain.subject_type,
                "subject_id": chain.subject_id,
                "period": chain.period,
                "requirements": requirements(rung.kind, chain.title, chain.due_date),
                "due_date": chain.due_date if rung.level == 0 else cal.add_working_days(today, days).date,
                "previous": chain.level,
                "next": level_day(policy, rung.level + 1, chain.due_date, today, cal),
            }
        )
    if stuck:
        await session.execute(
            update(NoticeChain).where(col(NoticeChain.id).in_(stuck)).values(next_level_on=None)
        )
    if not issuing:
        return

    def column(name: str) -> list[Any]:
        return [row[name] for row in issuing]

    done = await session.execute(
        _ISSUE,
        {
            "today": today,
            "as_of": as_of,
            "ids": column("id"),
            "chains": column("chain_id"),
            "programs": column("program_id"),
            "kinds": column("kind"),
            "levels": column("level"),
            "units": column("recipient_unit_id"),
            "recipients": column("recipient"),
            "types": column("subject_type"),
            "subjects": column("subject_id"),
            "periods": column("period"),
            "requirements": column("requirements"),
            "dues": column("due_date"),
            "previous": column("previous"),
        },
    )
    written = done.all()
    issued = {chain_id for chain_id, _ in written}
    parents = [parent for _, parent in written if parent is not None]
    issuing = [row for row in issuing if row["chain_id"] in issued]
    outcome.issued += len(issuing)
    climbed = {"chains": column("chain_id"), "levels": column("level")}
    if parents:
        await session.execute(_SUPERSEDE, {"parents": parents, "standing": [str(s) for s in STANDING]})
    await session.execute(_CLIMBED, climbed | {"today": today, "nexts": column("next")})
    await _announce(session, [_issued(row, as_of) for row in issuing])


async def _announce(session: AsyncSession, events: list[EventPayload]) -> None:
    """Publish the events an active webhook subscribes to. The rest would each be a queue job that
    fans out to no one, and a sweep issuing 10,000 notices would put every filing and webhook
    behind them."""
    if not events:
        return
    wanted = set(
        await session.scalars(
            select(func.unnest(col(Webhook.events))).where(col(Webhook.is_active)).distinct()
        )
    )
    await publish_events(session, [e for e in events if e.event in wanted], producer="notifier")


def _issued(row: dict[str, Any], at: datetime) -> EventPayload:
    """The `notice.issued` event, for the signed webhooks of those who see the recipient unit."""
    return EventPayload(
        event=WebhookEvent.NOTICE_ISSUED,
        subject_type="notice",
        subject_id=row["id"],
        occurred_at=at,
        data={
            "kind": row["kind"],
            "level": row["level"],
            "due_date": str(row["due_date"]),
            "recipient_unit_id": str(row["recipient_unit_id"]),
            "matter": {"type": row["subject_type"], "id": str(row["subject_id"]), "period": row["period"]},
        },
    )


__all__ = ["close_notices", "level_day", "quiet", "requirements", "rung_at", "sweep"]
