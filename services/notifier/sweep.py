"""The sweep: what is owed as of an instant, chased up the ladder one rung at a time.

As of an instant (a cron's now, or `duban notifier sweep --as-of` replaying the past), for every
program: each report period owed and not filed opens a chain (rule `report_due`) holding a copy
of the program's ladder; its rungs come due in working days —

- levels counted from the deadline (the reminder, the urging notice): `after_working_days`
  before the report's last day when negative (the reminder, 2 working days before it), else
  that many working days after the first working day past it (the urging notice, on that day);
- every later level: `after_working_days` after the day the previous level was issued.

A sweep issues at most one rung per chain: the highest of those counted from the deadline that
is due, or the next one. A higher rung supersedes the lower ones still issued. A chain whose
report has been filed is closed with its notices. Quiet hours: nothing is issued outside working
hours (08:30–17:30, Beijing) or on a day off; it waits for the next working morning (a make-up
Saturday is a working day). Closing goes on at any hour. Exactly one notice per (chain, level) and one
chain per (rule, subject, period): unique keys written in the sweep's transaction, so a sweep
run twice, or killed and run again, issues nothing twice. One sweep at a time (an advisory
lock), however many workers run the cron.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from shared import calendar, dues
from shared.calendar import WorkingCalendar
from shared.clock import OFFICE_TZ
from shared.models import Notice, NoticeChain, Program, Project, Unit
from shared.outbox import publish_event
from shared.program_settings import EscalationLevel, EscalationPolicy, ProgramSettings
from shared.vocabulary import ChainState, NoticeRule, NoticeState, WebhookEvent

log = logging.getLogger(__name__)
SWEEP_LOCK = 0x6475_6261_6E01  # pg_advisory_xact_lock key: one sweep at a time
FROM_DEADLINE = (0, 1)  # levels whose day counts from the report's deadline
WORKING_HOURS = (time(8, 30), time(17, 30))  # Beijing time: notices go out within them only
REQUIREMENTS = {
    "reminder": "{period} 的{report}将于 {due} 截止，请按时报送。",
    "urging": "{period} 的{report}已于 {due} 截止，至今未报送，请立即报送。",
    "supervision": "{period} 的{report}逾期未报，经催办仍未报送，请单位负责人督促立即报送并书面说明原因。",
    "criticism": "{period} 的{report}经催办、督办仍未报送，予以通报批评。",
    "interview": "{period} 的{report}经通报批评仍未报送，请单位主要负责人接受约谈。",
    "accountability": "{period} 的{report}经约谈仍未报送，移交纪检监察和组织部门问责。",
}
REPORT_NAMES = {
    "unit_weekly": "周报",
    "unit_monthly": "月报",
    "project_monthly": "项目月报",
    "project_quarterly": "项目季报",
}


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
    """The day `level` comes due in a chain for a report due on `due` (its last day), the
    previous level having been issued on `previous`; None when time never brings it."""
    rung = _rung(policy, level)
    if rung is None or rung.after_working_days is None:
        return None
    after = rung.after_working_days
    if level in FROM_DEADLINE:
        return cal.add_working_days(due, after if after < 0 else after + 1).date
    if previous is None:
        return None
    return cal.add_working_days(previous, after).date


def _rung(policy: EscalationPolicy, level: int) -> EscalationLevel | None:
    return next((r for r in policy.levels if r.level == level), None)


async def sweep(sessions: async_sessionmaker[AsyncSession], as_of: datetime) -> dict[str, int]:
    """Everything due as of `as_of`, in one transaction."""
    today = as_of.astimezone(OFFICE_TZ).date()
    outcome = Outcome()
    async with sessions() as session, session.begin():
        await session.execute(select(func.pg_advisory_xact_lock(SWEEP_LOCK)))
        programs = list(await session.scalars(select(Program)))
        local = as_of.astimezone(OFFICE_TZ).time()
        for program in programs:
            settings = ProgramSettings.model_validate(program.settings)
            cal = await calendar.load(session, [program.year, program.year + 1])
            quiet = not cal.is_working_day(today) or not WORKING_HOURS[0] <= local <= WORKING_HOURS[1]
            await _program(session, program, settings, cal, as_of, today, outcome, quiet=quiet)
    if outcome.issued or outcome.closed:
        log.info("sweep", extra={"as_of": as_of.isoformat(), **outcome.as_dict()})
    return outcome.as_dict()


async def _program(
    session: AsyncSession,
    program: Program,
    settings: ProgramSettings,
    cal: WorkingCalendar,
    as_of: datetime,
    today: date,
    outcome: Outcome,
    *,
    quiet: bool,
) -> None:
    query = dues.dues_query(
        program, settings, cal, as_of,
        visible_projects=col(Project.id).is_not(None), visible_units=select(col(Unit.id)),
        filters=dues.DueFilters(),
    )  # fmt: skip
    if query is None:
        return
    owed = (await session.execute(query)).mappings().all()
    filed = [r for r in owed if r["state"] in ("submitted", "late")]
    await _close_filed(session, filed, as_of, outcome)
    unfiled = [r for r in owed if r["state"] in ("open", "overdue")]
    if not unfiled or quiet:
        return
    # The chains already there, with the day each next climbs: most rows need nothing today.
    chains = await session.execute(
        select(
            col(NoticeChain.subject_type), col(NoticeChain.subject_id), col(NoticeChain.period),
            col(NoticeChain.state), col(NoticeChain.next_level_on),
        ).where(col(NoticeChain.program_id) == program.id, col(NoticeChain.rule) == NoticeRule.REPORT_DUE)
    )  # fmt: skip
    # the day each known chain climbs next; never (date.max) once closed or at its top by time
    known: dict[tuple[Any, Any, Any], date] = {
        (t, s, p): (n if state == ChainState.OPEN and n is not None else date.max)
        for t, s, p, state, n in chains.all()
    }
    waiting = [
        r for r in unfiled if known.get((r["subject_type"], r["subject_id"], r["period"]), today) <= today
    ]
    recipients = await _recipients(session, waiting)
    policy = settings.escalation_policy
    for row in waiting:
        due = (row["due_at"].astimezone(OFFICE_TZ) - timedelta(days=1)).date()
        first = _first_level(policy, due, cal, today)
        if first is None:
            continue  # not even the reminder is due yet
        chain = await _chain(
            session, program, row, recipients[row["subject_id"]], due, policy, as_of, outcome
        )
        await _climb(session, chain, cal, as_of, today, outcome)


def _first_level(policy: EscalationPolicy, due: date, cal: WorkingCalendar, today: date) -> int | None:
    """The highest level counted from the deadline that is due by `today`."""
    due_levels = [
        lv for lv in FROM_DEADLINE if (day := level_day(policy, lv, due, None, cal)) and day <= today
    ]
    return max(due_levels) if due_levels else None


async def _recipients(session: AsyncSession, rows: Any) -> dict[Any, Any]:
    """The unit each subject's notices go to: a project's responsible unit, a unit itself."""
    projects = {r["subject_id"] for r in rows if r["subject_type"] == "project"}
    found: dict[Any, Any] = {r["subject_id"]: r["subject_id"] for r in rows if r["subject_type"] == "unit"}
    if projects:
        rows = await session.execute(
            select(col(Project.id), col(Project.responsible_unit_id)).where(col(Project.id).in_(projects))
        )
        found |= {project: unit for project, unit in rows.all()}
    return found


async def _chain(
    session: AsyncSession,
    program: Program,
    row: Any,
    recipient: Any,
    due: date,
    policy: EscalationPolicy,
    as_of: datetime,
    outcome: Outcome,
) -> NoticeChain:
    """The chain of this report period, opened now if it is not yet (never twice)."""
    opened = await session.scalar(
        insert(NoticeChain)
        .values(
            program_id=program.id, rule=NoticeRule.REPORT_DUE, subject_type=row["subject_type"],
            subject_id=row["subject_id"], schedule_kind=row["kind"], period=row["period"],
            recipient_unit_id=recipient, due_date=due, policy=policy.model_dump(mode="json"),
            level=-1, state=ChainState.OPEN, opened_at=as_of,
        )
        .on_conflict_do_nothing(index_elements=["rule", "subject_type", "subject_id", "period"])
        .returning(col(NoticeChain.id))
    )  # fmt: skip
    outcome.opened += opened is not None
    chain = await session.scalar(
        select(NoticeChain)
        .where(
            col(NoticeChain.rule) == NoticeRule.REPORT_DUE,
            col(NoticeChain.subject_type) == row["subject_type"],
            col(NoticeChain.subject_id) == row["subject_id"],
            col(NoticeChain.period) == row["period"],
        )
        .with_for_update()
    )
    assert chain is not None
    return chain


async def _climb(
    session: AsyncSession,
    chain: NoticeChain,
    cal: WorkingCalendar,
    as_of: datetime,
    today: date,
    outcome: Outcome,
) -> None:
    """Issue the chain's next rung when it is due today (one rung per sweep)."""
    if chain.state != ChainState.OPEN:
        return
    policy = EscalationPolicy.model_validate(chain.policy)
    if chain.level < 0:
        level = _first_level(policy, chain.due_date, cal, today)
        if level is None:
            return
    else:
        level = chain.level + 1
        day = level_day(policy, level, chain.due_date, chain.last_issued_on, cal)
        if day is None or day > today:
            return
    if level == 0 and today > chain.due_date:
        return  # the reminder's moment passed with the deadline: the urging notice comes next
    rung = _rung(policy, level)
    assert rung is not None
    parent = await session.scalar(
        select(col(Notice.id)).where(col(Notice.chain_id) == chain.id, col(Notice.level) == chain.level)
    )
    due_day = chain.due_date if level == 0 else cal.add_working_days(today, 5).date
    notice = await session.scalar(
        insert(Notice)
        .values(
            chain_id=chain.id, program_id=chain.program_id, kind=rung.kind, level=level,
            recipient_unit_id=chain.recipient_unit_id, recipient=rung.recipient,
            subject_type=chain.subject_type, subject_id=chain.subject_id, period=chain.period,
            requirements=REQUIREMENTS[rung.kind].format(
                period=chain.period, report=REPORT_NAMES.get(chain.schedule_kind, "报表"), due=chain.due_date
            ),
            issued_on=today, issued_at=as_of, due_date=due_day, state=NoticeState.ISSUED, parent_id=parent,
        )
        .on_conflict_do_nothing(index_elements=["chain_id", "level"])
        .returning(col(Notice.id))
    )  # fmt: skip
    if notice is None:
        return
    outcome.issued += 1
    await _announce(
        session,
        WebhookEvent.NOTICE_ISSUED,
        notice,
        as_of,
        chain,
        kind=rung.kind,
        level=level,
        due_date=due_day,
    )
    await session.execute(  # a higher rung supersedes the lower ones still standing
        update(Notice)
        .where(
            col(Notice.chain_id) == chain.id,
            col(Notice.level) < level,
            col(Notice.state) == NoticeState.ISSUED,
        )
        .values(state=NoticeState.SUPERSEDED)
    )
    chain.level, chain.last_issued_on = level, today
    chain.next_level_on = level_day(policy, level + 1, chain.due_date, today, cal)


async def _announce(
    session: AsyncSession, event: str, notice_id: Any, as_of: datetime, chain: NoticeChain, **data: Any
) -> None:
    """The `notice.*` event, for the signed webhooks of those who see the recipient unit."""
    await publish_event(
        session, event=event, subject_type="notice", subject_id=notice_id,
        data={**{k: str(v) if isinstance(v, date) else v for k, v in data.items()},
              "recipient_unit_id": str(chain.recipient_unit_id),
              "matter": {"type": chain.subject_type, "id": str(chain.subject_id), "period": chain.period}},
        occurred_at=as_of, producer="notifier",
    )  # fmt: skip


async def _close_filed(session: AsyncSession, rows: Any, as_of: datetime, outcome: Outcome) -> None:
    """Close the open chains (and their standing notices) of report periods now filed."""
    if not rows:
        return
    keys = [(r["subject_type"], r["subject_id"], r["period"]) for r in rows]
    closing = (
        select(col(NoticeChain.id))
        .where(
            col(NoticeChain.state) == ChainState.OPEN,
            col(NoticeChain.rule) == NoticeRule.REPORT_DUE,
            tuple_(col(NoticeChain.subject_type), col(NoticeChain.subject_id), col(NoticeChain.period)).in_(
                keys
            ),
        )
        .scalar_subquery()
    )
    closed = list(
        await session.scalars(
            update(NoticeChain)
            .where(col(NoticeChain.id).in_(closing))
            .values(
                state=ChainState.CLOSED, closed_reason="report_filed", closed_at=as_of, next_level_on=None
            )
            .returning(col(NoticeChain.id))
        )
    )
    if closed:
        ended = await session.execute(
            update(Notice)
            .where(col(Notice.chain_id).in_(closed), col(Notice.state) == NoticeState.ISSUED)
            .values(state=NoticeState.CLOSED, closed_at=as_of)
            .returning(col(Notice.id), col(Notice.kind), col(Notice.level), col(Notice.period),
                       col(Notice.subject_type), col(Notice.subject_id))
        )  # fmt: skip
        for notice_id, kind, level, period, subject_type, subject_id in ended.all():
            await publish_event(
                session, event=WebhookEvent.NOTICE_CLOSED, subject_type="notice", subject_id=notice_id,
                data={"kind": kind, "level": level, "reason": "report_filed",
                      "matter": {"type": subject_type, "id": str(subject_id), "period": period}},
                occurred_at=as_of, producer="notifier",
            )  # fmt: skip
    outcome.closed += len(closed)


__all__ = ["level_day", "sweep"]
