"""People's actions on notices, as the notifier applies them (the api records and validates them)."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared.clock import OFFICE_TZ
from shared.models import Notice, NoticeChain
from shared.outbox import publish_event
from shared.queues import IssueNoticePayload, NoticeActionPayload
from shared.vocabulary import ChainState, NoticeAction, NoticeRule, NoticeState, WebhookEvent

STANDING = (NoticeState.ISSUED, NoticeState.FEEDBACK_SUBMITTED)


async def apply(session: AsyncSession, done: NoticeActionPayload, at: datetime) -> str:
    notice = await session.scalar(select(Notice).where(col(Notice.id) == done.notice_id).with_for_update())
    if notice is None:
        return "no such notice"
    if done.action == NoticeAction.FEEDBACK:
        if notice.state != NoticeState.ISSUED:
            return f"notice {notice.state}: feedback kept, state unchanged"
        notice.state = NoticeState.FEEDBACK_SUBMITTED
        return "feedback submitted"
    chain = await session.scalar(
        select(NoticeChain).where(col(NoticeChain.id) == notice.chain_id).with_for_update()
    )
    if chain is None or chain.state != ChainState.OPEN:
        return "chain already closed"
    chain.state, chain.closed_reason, chain.closed_at, chain.next_level_on = (
        ChainState.CLOSED, "feedback_accepted", at, None
    )  # fmt: skip
    closed = await session.execute(
        update(Notice)
        .where(col(Notice.chain_id) == chain.id, col(Notice.state).in_(STANDING))
        .values(state=NoticeState.CLOSED, closed_at=at)
        .returning(col(Notice.id), col(Notice.kind), col(Notice.level))
    )
    matter = {"type": chain.subject_type, "id": str(chain.subject_id), "period": chain.period}
    for notice_id, kind, level in closed.all():
        await publish_event(
            session, event=WebhookEvent.NOTICE_CLOSED, subject_type="notice", subject_id=notice_id,
            data={"kind": kind, "level": level, "reason": "feedback_accepted", "matter": matter},
            occurred_at=at, producer="notifier",
        )  # fmt: skip
    return "chain closed"


LEVEL_OF = {"urging": 1, "supervision": 2}


async def issue_manual(session: AsyncSession, order: IssueNoticePayload) -> str:
    """The office's own notice, under the id the api gave it (once, however often it arrives)."""
    issued_on = order.issued_at.astimezone(OFFICE_TZ).date()
    chain_id = await session.scalar(
        insert(NoticeChain)
        .values(
            program_id=order.program_id, rule=NoticeRule.MANUAL, subject_type=order.subject_type,
            subject_id=order.subject_id, schedule_kind="manual", period=order.notice_id.hex[:16],
            recipient_unit_id=order.recipient_unit_id, due_date=order.due_date, policy={},
            level=LEVEL_OF[order.kind], last_issued_on=issued_on, state=ChainState.OPEN,
            opened_at=order.issued_at,
        )
        .on_conflict_do_nothing(index_elements=["rule", "subject_type", "subject_id", "period"])
        .returning(col(NoticeChain.id))
    )  # fmt: skip
    if chain_id is None:
        return "duplicate"
    await session.execute(
        insert(Notice).values(
            id=order.notice_id, chain_id=chain_id, program_id=order.program_id, kind=order.kind,
            level=LEVEL_OF[order.kind], recipient_unit_id=order.recipient_unit_id, recipient="unit",
            subject_type=order.subject_type, subject_id=order.subject_id, period=order.notice_id.hex[:16],
            requirements=order.requirements, issued_on=issued_on, issued_at=order.issued_at,
            due_date=order.due_date, state=NoticeState.ISSUED,
        )
    )  # fmt: skip
    await publish_event(
        session, event=WebhookEvent.NOTICE_ISSUED, subject_type="notice", subject_id=order.notice_id,
        data={"kind": order.kind, "level": LEVEL_OF[order.kind], "due_date": str(order.due_date),
              "recipient_unit_id": str(order.recipient_unit_id),
              "matter": {"type": order.subject_type, "id": str(order.subject_id)}},
        occurred_at=order.issued_at, producer="notifier",
    )  # fmt: skip
    return "issued"
