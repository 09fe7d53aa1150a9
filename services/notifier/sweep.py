"""The sweep: what is owed as of an instant, chased up the ladder one rung at a time.

As of an instant (a cron's now, or `duban notifier sweep --as-of` replaying the past), for every
program, each rule (services/notifier/rules.py) finds the matters that stand. A matter whose
first rung is due opens a chain (one per rule, subject and period) holding a copy of the
program's ladder (not for a deadline before the program's `notice_rules.chase_from`: an office
going live mid-year enters the months before as history); an open chain whose matter is no
longer found is closed with its notices — unless the chain opened or climbed after the sweep's
instant: a replay behind the live clock never closes what the live clock has since chased.
Then every open chain whose next rung is due by today (an index over open chains: the cost grows
with what is open, not with history) climbs one rung on the one clock (services/notifier/ladder):

- a deadline's chain starts with the reminder (`before_working_days` before the deadline) or,
  once the deadline has passed, with urging (the first working day after it); a condition's or
  an event's chain starts at the rung of its start kind on the day it is found;
- each notice is due on the last of the working days its rung gives; the rung above fires the
  first working day after that.

A chain whose ladder has no rung of its start kind is closed (`no_rung`): it never loops. A
chain waiting on the office (feedback or an explanation) does not climb. A higher rung
supersedes the lower one still standing. Quiet hours: nothing is issued outside working hours
(08:30–17:30, Beijing) or on a day off; it waits for the next working morning (a make-up
Saturday is a working day). Closing goes on at any hour. Exactly one notice per (chain, level)
and one chain per (rule, subject, period): unique keys written in the sweep's transaction, so a
sweep run twice, or killed and run again, issues nothing twice. One sweep at a time (an
advisory lock), however many workers run the cron. Every write goes through
services/notifier/chains.py.
"""

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ARRAY, String, Uuid, bindparam, exists, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.notifier import chains, ladder, rules
from shared import calendar
from shared.calendar import WorkingCalendar
from shared.clock import OFFICE_TZ
from shared.models import Notice, NoticeChain, Program
from shared.program_settings import EscalationPolicy, ProgramSettings
from shared.vocabulary import ChainClosed, ChainState

log = logging.getLogger(__name__)
SWEEP_LOCK = 0x6475_6261_6E01  # pg_advisory_xact_lock key: one sweep at a time
WORKING_HOURS = (time(8, 30), time(17, 30))  # Beijing time: notices go out within them only


@dataclass
class Outcome:
    opened: int = 0
    issued: int = 0
    closed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"opened": self.opened, "issued": self.issued, "closed": self.closed}


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
        resting: set[Any] = set()  # closed, or long past their year: nothing opens or climbs
        for program in programs:
            if program.closed_at is not None and program.closed_at <= as_of:
                resting.add(program.id)
                outcome.closed += len(
                    await chains.close(
                        session, ChainClosed.PROGRAM_CLOSED, as_of, col(NoticeChain.program_id) == program.id
                    )
                )
                continue
            ctx = rules.Context(session, program, settings[program.id], cal, as_of)
            past = _past_its_year(program, settings[program.id], today)
            if past:
                resting.add(program.id)
            for found in await rules.find(ctx):
                await _close(session, program, found, as_of, outcome)
                if not hushed and not past:
                    await _open(session, program, settings[program.id], found, cal, as_of, outcome)
        if not hushed:
            await _climb(session, settings, cal, as_of, outcome, resting)
    if outcome.issued or outcome.closed:
        log.info("sweep", extra={"as_of": as_of.isoformat(), **outcome.as_dict()})
    return outcome.as_dict()


def _past_its_year(program: Program, settings: ProgramSettings, today: date) -> bool:
    """More than `chase_months_after_year` months after the program's year ended (a 2018 program
    swept live in 2026): the office has moved on, and chasing its weekly reports would send
    interview summonses for them."""
    months = settings.notice_rules.chase_months_after_year
    if months is None:
        return False
    month = 12 + months  # months after January of the program's year, counting its December
    year, month = program.year + month // 12, month % 12 + 1
    return today >= date(year, month, 1)


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
    closed = await chains.close(
        session,
        found.closes,
        as_of,
        col(NoticeChain.program_id) == program.id,
        col(NoticeChain.rule) == found.rule,
        ~standing,
        # a sweep as of an instant before the chain's last step (a replay behind the live
        # clock) saw a world the chain has moved past: it leaves the chain alone
        col(NoticeChain.opened_at) <= as_of,
        ~exists().where(col(Notice.chain_id) == col(NoticeChain.id), col(Notice.issued_at) > as_of),
    )
    outcome.closed += len(closed)


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
    its deadline falls before the program's `chase_from`."""
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
    opening_days: dict[date, date] = {}
    due: list[chains.Opening] = []
    since = settings.notice_rules.chase_from
    for m in found.matters:
        if m.subject_id in busy or (since is not None and m.due < since):
            continue
        if found.start_kind is None:
            if m.due not in opening_days:
                opening_days[m.due] = ladder.opening_day(policy, m.due, cal)
            first: date | None = opening_days[m.due]
        else:
            first = m.first_on
        if first is not None and first <= today:
            kind = m.kind or str(found.rule)
            due.append(
                chains.Opening(
                    m.subject_type, m.subject_id, m.period, m.recipient_unit_id, m.due, m.title, first, kind
                )
            )
    opened = await chains.open_chains(
        session,
        program_id=program.id,
        rule=found.rule,
        policy=policy,
        start_kind=found.start_kind,
        openings=due,
        at=as_of,
    )
    outcome.opened += len(opened)


_CHAIN_COLUMNS = (
    NoticeChain.id,
    NoticeChain.program_id,
    NoticeChain.rule,
    NoticeChain.level,
    NoticeChain.start_kind,
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
    resting: set[Any],
) -> None:
    """Each open chain whose next rung is due by today issues it (one rung per sweep), but not
    in a resting program: the chains read and locked in one SELECT, then written through
    services/notifier/chains.py."""
    today = as_of.astimezone(OFFICE_TZ).date()
    due = (
        await session.execute(
            select(*(col(c) for c in _CHAIN_COLUMNS))
            .where(
                col(NoticeChain.state) == ChainState.OPEN,
                col(NoticeChain.next_level_on) <= today,
                col(NoticeChain.paused_on).is_(None),
                col(NoticeChain.program_id).not_in(resting),
            )
            .order_by(col(NoticeChain.id))
            .with_for_update()
        )
    ).all()
    policies: dict[str, EscalationPolicy] = {}
    issuing: list[chains.Issue] = []
    stuck: list[Any] = []  # at the top of their ladder by time: nothing more comes by itself
    rungless: list[Any] = []  # their ladder has no rung of their start kind
    for chain in due:
        key = json.dumps(chain.policy, sort_keys=True)
        policy = policies.get(key) or policies.setdefault(key, EscalationPolicy.model_validate(chain.policy))
        if chain.level >= 0:
            current = policy.at(chain.level)
            rung = policy.above(current) if current is not None else None
            if rung is None or not rung.by_time:
                stuck.append(chain.id)
                continue
        else:
            try:
                rung = ladder.first_rung(policy, chain.start_kind, chain.due_date, today)
            except ladder.NoRung:
                rungless.append(chain.id)
                continue
            if rung is None:
                continue  # a deadline's chain with no reminder, before its deadline
        step = ladder.step(
            policy,
            rung,
            today,
            cal,
            deadline=chain.due_date,
            default_days=settings[chain.program_id].notice_rules.default_due_in_working_days,
        )
        issuing.append(
            chains.Issue(
                chain_id=chain.id,
                program_id=chain.program_id,
                kind=rung.kind,
                level=rung.level,
                recipient_unit_id=chain.recipient_unit_id,
                recipient=rung.recipient,
                subject_type=chain.subject_type,
                subject_id=chain.subject_id,
                period=chain.period,
                requirements=chains.requirements(rung.kind, chain.title, chain.due_date, chain.rule),
                due_date=step.due,
                next_on=step.next_on,
            )
        )
    if stuck:
        await session.execute(
            update(NoticeChain).where(col(NoticeChain.id).in_(stuck)).values(next_level_on=None)
        )
    if rungless:
        outcome.closed += len(
            await chains.close(session, ChainClosed.NO_RUNG, as_of, col(NoticeChain.id).in_(rungless))
        )
    outcome.issued += len(await chains.issue(session, issuing, today=today, at=as_of))


__all__ = ["quiet", "sweep"]
