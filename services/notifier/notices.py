"""People's actions on notices, as the notifier applies them (the api records and validates them),
and the office's own notices. Each runs on the ladder's one clock (services/notifier/ladder.py):

- feedback (书面反馈): the notice waits for the office's decision, and the clock holds;
- explanation (延期申请, before the deadline): the notice waits, and the clock holds;
- accept: of feedback, the chain ends; of an explanation, the notice is due on the proposed day
  and the rung above fires the first working day after it;
- withdraw: the office's notice issued by mistake; the chain ends (`withdrawn`);
- reject: of feedback (退办), the notice stands again due by the new deadline the office gave,
  and the clock restarts from it; of an explanation, the clock resumes from where it held (the
  working days it held are added to the notice's deadline).

They are applied in the order they were recorded, whatever order their jobs run in.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.notifier import chains, ladder
from shared import calendar
from shared.clock import OFFICE_TZ
from shared.models import Finding, Notice, NoticeActionRecord, NoticeChain, Program
from shared.program_settings import EscalationPolicy, ProgramSettings
from shared.queues import FindingRectifiedPayload, IssueNoticePayload, NoticeActionPayload, ReportFiledPayload
from shared.vocabulary import ChainClosed, ChainState, FindingState, NoticeAction, NoticeRule, NoticeState

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
    if done.action == NoticeAction.WITHDRAW:  # issued by mistake: the chain ends, its notices close
        await chains.close(session, ChainClosed.WITHDRAWN, when, col(NoticeChain.id) == chain.id)
        return "withdrawn"
    if done.action in (NoticeAction.FEEDBACK, NoticeAction.EXPLANATION):
        if notice.state not in ANSWERABLE:
            return f"notice {notice.state}: {done.action} kept, state unchanged"
        feedback = done.action == NoticeAction.FEEDBACK
        notice.state = NoticeState.FEEDBACK_SUBMITTED if feedback else NoticeState.EXPLANATION_SUBMITTED
        chain.paused_on = chain.paused_on or today
        return "feedback submitted" if feedback else "clock paused"
    accepted = done.action == NoticeAction.ACCEPT
    if done.decides == NoticeAction.FEEDBACK and accepted:
        await chains.close(session, ChainClosed.FEEDBACK_ACCEPTED, when, col(NoticeChain.id) == chain.id)
        return "chain closed"
    cal = await calendar.load(session, [today.year, today.year + 1])
    paused_on, chain.paused_on = chain.paused_on, None
    if done.decides == NoticeAction.FEEDBACK:  # 退办: due again by the office's new deadline
        notice.state = NoticeState.REOPENED
        notice.due_date = done.due_date or notice.due_date
        outcome = "reopened"
    elif accepted and done.proposed_due_date is not None:
        notice.state = NoticeState.ISSUED
        notice.due_date = chain.due_date = done.proposed_due_date
        outcome = "deadline moved"
    else:
        notice.state = NoticeState.ISSUED
        if paused_on is not None:
            notice.due_date = cal.add_working_days(
                notice.due_date, cal.working_days_between(paused_on, today)
            ).date
        outcome = "clock resumed"
    if chain.level == notice.level:  # the chain's standing rung: the clock runs from its deadline
        chain.next_level_on = _next_day(chain, notice, cal)
    return outcome


def _next_day(chain: NoticeChain, notice: Notice, cal: calendar.WorkingCalendar) -> date | None:
    """The day the rung above the chain's notice fires, from the notice's deadline (one clock)."""
    policy = EscalationPolicy.model_validate(chain.policy)
    rung = policy.rung(notice.kind)
    return None if rung is None else ladder.next_day(policy, rung, notice.due_date, cal)


async def report_filed(session: AsyncSession, done: ReportFiledPayload) -> str:
    """The period a chain chased was filed: the chain ends now, with its standing notices."""
    closed = await chains.close(
        session,
        ChainClosed.REPORT_FILED,
        done.filed_at,
        col(NoticeChain.rule) == NoticeRule.REPORT_DUE,
        col(NoticeChain.subject_type) == done.subject_type,
        col(NoticeChain.subject_id) == done.subject_id,
        col(NoticeChain.period) == done.period,
    )
    return "chain closed" if closed else "no open chain"


async def issue_manual(session: AsyncSession, order: IssueNoticePayload) -> str:
    """The office's own notice, or a visit's finding, under the id the api gave it (once, however
    often it arrives), on the ladder's rung of its kind: the rung above fires the first working
    day after its deadline. A finding the office confirmed rectified before its notice came is
    not chased."""
    if order.rule == NoticeRule.FINDING and await session.scalar(
        select(col(Finding.id)).where(
            col(Finding.notice_id) == order.notice_id, col(Finding.state) == FindingState.RECTIFIED
        )
    ):
        return "the finding was rectified before its notice was issued: nothing issued"
    issued_on = order.issued_at.astimezone(OFFICE_TZ).date()
    program = await session.get_one(Program, order.program_id)
    policy = ProgramSettings.model_validate(program.settings).escalation_policy
    cal = await calendar.load(session, [order.due_date.year, order.due_date.year + 1])
    period = order.notice_id.hex[:16]
    rung = policy.rung(order.kind)
    opened = await chains.open_chains(
        session,
        program_id=order.program_id,
        rule=NoticeRule(order.rule),
        policy=policy,
        start_kind=order.kind,
        openings=[
            chains.Opening(
                order.subject_type, order.subject_id, period, order.recipient_unit_id, order.due_date,
                order.title or _title(order.requirements), None, order.rule,
            )
        ],
        at=order.issued_at,
        closed=ChainClosed.NO_RUNG if rung is None else None,
    )  # fmt: skip
    chain_id = opened.get((order.subject_id, period))
    if chain_id is None:
        return "duplicate"
    if rung is None:  # the ladder lost the rung after the api took the notice
        return f"the program's ladder has no {order.kind} rung: nothing issued"
    await chains.issue(
        session,
        [
            chains.Issue(
                id=order.notice_id, chain_id=chain_id, program_id=order.program_id, kind=rung.kind,
                level=rung.level, recipient_unit_id=order.recipient_unit_id, recipient=rung.recipient,
                subject_type=order.subject_type, subject_id=order.subject_id, period=period,
                requirements=order.requirements, due_date=order.due_date,
                next_on=ladder.next_day(policy, rung, order.due_date, cal),
            )
        ],
        today=issued_on,
        at=order.issued_at,
    )  # fmt: skip
    return "issued"


async def finding_rectified(session: AsyncSession, done: FindingRectifiedPayload) -> str:
    """The office confirmed the finding rectified: its chain ends now, with its standing notices
    (a notice not issued yet is never issued: see `issue_manual`)."""
    chain_id = select(col(Notice.chain_id)).where(col(Notice.id) == done.notice_id).scalar_subquery()
    closed = await chains.close(
        session, ChainClosed.RECTIFIED, done.confirmed_at, col(NoticeChain.id) == chain_id
    )
    return "chain closed" if closed else "no open chain"


def _title(text: str) -> str:
    """What the office's notice is about, as its later rungs name it."""
    first = text.strip().splitlines()[0]
    return f"督办事项“{first[:80]}{'…' if len(first) > 80 else ''}”"


__all__ = ["apply", "finding_rectified", "issue_manual", "report_filed"]
