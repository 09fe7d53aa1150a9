"""People's actions on notices, as the notifier applies them (the api records and validates them).

- feedback (书面反馈): the notice waits for the office's decision;
- explanation (延期申请, before the deadline): the chain's clock pauses;
- accept: of feedback, the chain ends; of an explanation, the notice is due on the proposed day
  and the ladder moves with it (its next rung comes the first working day after that day);
- reject: of feedback (退办), the notice stands again due by a new deadline; of an explanation,
  the clock resumes from where it paused (the days it stood paused are added to what was left).

They are applied in the order they were recorded, whatever order their jobs run in.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.notifier.sweep import close_notices, rung_at
from shared import calendar
from shared.clock import OFFICE_TZ
from shared.models import Notice, NoticeActionRecord, NoticeChain, Program
from shared.outbox import publish_event
from shared.program_settings import EscalationPolicy, ProgramSettings
from shared.queues import IssueNoticePayload, NoticeActionPayload, ReportFiledPayload
from shared.vocabulary import ChainState, NoticeAction, NoticeRule, NoticeState, WebhookEvent

ANSWERABLE = (NoticeState.ISSUED, NoticeState.REOPENED)


async def apply(session: AsyncSession, done: NoticeActionPayload, at: datetime) -> str:
    """Apply the notice's recorded actions in the order they were recorded, up to and including
    `done`: jobs that run out of order (a backlog worked off by two notifiers) apply feedback
    before its 退办, an explanation before its acceptance. The notice is locked, and counts what
    it has applied, so a job finding its action applied already changes nothing."""
    notice = await session.scalar(select(Notice).where(col(Notice.id) == done.notice_id).with_for_update())
    if notice is None:
        return "no such notice"
    recorded = list(
        await session.scalars(
            select(NoticeActionRecord)
            .where(col(NoticeActionRecord.notice_id) == notice.id)
            .order_by(col(NoticeActionRecord.at), col(NoticeActionRecord.id))
        )
    )
    upto = next((i + 1 for i, r in enumerate(recorded) if r.id == done.action_id), None)
    if upto is None:  # the api records an action in the transaction that queues it: never so
        return "no such action recorded"
    if upto <= notice.actions_applied:
        return "applied already"
    by_id = {r.id: r for r in recorded}
    outcomes = [
        await _apply_one(session, notice, _as_payload(record, by_id), at)
        for record in recorded[notice.actions_applied : upto]
    ]
    notice.actions_applied = upto
    return "; ".join(outcomes)


def _as_payload(record: NoticeActionRecord, by_id: dict[Any, NoticeActionRecord]) -> NoticeActionPayload:
    """A recorded action as the api handed it over."""
    decided = by_id.get(record.decides_id) if record.decides_id else None
    return NoticeActionPayload(
        action_id=record.id, notice_id=record.notice_id, action=record.action, at=record.at,
        decides=decided.action if decided else None,
        proposed_due_date=decided.proposed_due_date if decided else record.proposed_due_date,
        due_date=record.due_date,
    )  # fmt: skip


async def _apply_one(session: AsyncSession, notice: Notice, done: NoticeActionPayload, at: datetime) -> str:
    chain = await session.scalar(
        select(NoticeChain).where(col(NoticeChain.id) == notice.chain_id).with_for_update()
    )
    if chain is None or chain.state != ChainState.OPEN:
        return "chain already closed"
    when = done.at or at
    today = when.astimezone(OFFICE_TZ).date()
    if done.action == NoticeAction.FEEDBACK:
        if notice.state not in ANSWERABLE:
            return f"notice {notice.state}: feedback kept, state unchanged"
        notice.state = NoticeState.FEEDBACK_SUBMITTED
        return "feedback submitted"
    if done.action == NoticeAction.EXPLANATION:
        if notice.state not in ANSWERABLE:
            return f"notice {notice.state}: explanation kept, state unchanged"
        notice.state = NoticeState.EXPLANATION_SUBMITTED
        chain.paused_on = chain.paused_on or today
        return "clock paused"
    accepted = done.action == NoticeAction.ACCEPT
    if done.decides == NoticeAction.FEEDBACK:
        if accepted:
            chain.state, chain.closed_reason, chain.closed_at, chain.next_level_on, chain.paused_on = (
                ChainState.CLOSED, "feedback_accepted", when, None, None
            )  # fmt: skip
            await close_notices(session, [chain.id], "feedback_accepted", when)
            return "chain closed"
        notice.state = NoticeState.REOPENED
        notice.due_date = done.due_date or notice.due_date
        return "reopened"
    cal = await calendar.load(session, [today.year, today.year + 1])
    notice.state = NoticeState.ISSUED
    paused_on, chain.paused_on = chain.paused_on, None
    if accepted and done.proposed_due_date is not None:
        notice.due_date = chain.due_date = done.proposed_due_date
        if chain.next_level_on is not None:
            chain.next_level_on = cal.add_working_days(done.proposed_due_date, 1).date
        return "deadline moved"
    if paused_on is not None:
        stood = cal.working_days_between(paused_on, today)
        notice.due_date = cal.add_working_days(notice.due_date, stood).date
        if chain.next_level_on is not None:
            chain.next_level_on = cal.add_working_days(chain.next_level_on, stood).date
    return "clock resumed"


async def report_filed(session: AsyncSession, done: ReportFiledPayload) -> str:
    """The period a chain chased was filed: the chain ends now, with its standing notices."""
    closed = list(
        await session.scalars(
            update(NoticeChain)
            .where(
                col(NoticeChain.rule) == NoticeRule.REPORT_DUE,
                col(NoticeChain.subject_type) == done.subject_type,
                col(NoticeChain.subject_id) == done.subject_id,
                col(NoticeChain.period) == done.period,
                col(NoticeChain.state) == ChainState.OPEN,
            )
            .values(state=ChainState.CLOSED, closed_reason="report_filed", closed_at=done.filed_at,
                    next_level_on=None, paused_on=None)
            .returning(col(NoticeChain.id))
        )
    )  # fmt: skip
    if not closed:
        return "no open chain"
    await close_notices(session, closed, "report_filed", done.filed_at)
    return "chain closed"


LEVEL_OF = {"urging": 1, "supervision": 2}


async def issue_manual(session: AsyncSession, order: IssueNoticePayload) -> str:
    """The office's own notice, under the id the api gave it (once, however often it arrives). Its
    chain climbs the program's ladder from the first working day after its deadline."""
    issued_on = order.issued_at.astimezone(OFFICE_TZ).date()
    program = await session.get_one(Program, order.program_id)
    policy = ProgramSettings.model_validate(program.settings).escalation_policy
    cal = await calendar.load(session, [order.due_date.year, order.due_date.year + 1])
    level = LEVEL_OF[order.kind]
    chain_id = await session.scalar(
        insert(NoticeChain)
        .values(
            program_id=order.program_id, rule=NoticeRule.MANUAL, subject_type=order.subject_type,
            subject_id=order.subject_id, schedule_kind="manual", period=order.notice_id.hex[:16],
            recipient_unit_id=order.recipient_unit_id, due_date=order.due_date,
            policy=policy.model_dump(mode="json"), level=level, last_issued_on=issued_on,
            next_level_on=_next(policy, level, order.due_date, cal), state=ChainState.OPEN,
            opened_at=order.issued_at, title=_title(order.requirements),
        )
        .on_conflict_do_nothing(index_elements=["rule", "subject_type", "subject_id", "period"])
        .returning(col(NoticeChain.id))
    )  # fmt: skip
    if chain_id is None:
        return "duplicate"
    await session.execute(
        insert(Notice).values(
            id=order.notice_id, chain_id=chain_id, program_id=order.program_id, kind=order.kind,
            level=level, recipient_unit_id=order.recipient_unit_id, recipient="unit",
            subject_type=order.subject_type, subject_id=order.subject_id, period=order.notice_id.hex[:16],
            requirements=order.requirements, issued_on=issued_on, issued_at=order.issued_at,
            due_date=order.due_date, state=NoticeState.ISSUED,
        )
    )  # fmt: skip
    await publish_event(
        session, event=WebhookEvent.NOTICE_ISSUED, subject_type="notice", subject_id=order.notice_id,
        data={"kind": order.kind, "level": level, "due_date": str(order.due_date),
              "recipient_unit_id": str(order.recipient_unit_id),
              "matter": {"type": order.subject_type, "id": str(order.subject_id)}},
        occurred_at=order.issued_at, producer="notifier",
    )  # fmt: skip
    return "issued"


def _next(policy: EscalationPolicy, level: int, due: date, cal: calendar.WorkingCalendar) -> date | None:
    """The next rung of an office's notice comes the first working day after its deadline, if
    the ladder has one reached by time."""
    rung = rung_at(policy, level + 1)
    return cal.add_working_days(due, 1).date if rung and rung.after_working_days is not None else None


def _title(text: str) -> str:
    """What the office's notice is about, as its later rungs name it."""
    first = text.strip().splitlines()[0]
    return f"督办事项“{first[:80]}{'…' if len(first) > 80 else ''}”"


__all__ = ["apply", "issue_manual", "report_filed"]
