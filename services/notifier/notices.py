"""People's actions on notices, as the notifier applies them (the api records and validates them)."""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared.models import Notice, NoticeChain
from shared.outbox import publish_event
from shared.queues import NoticeActionPayload
from shared.vocabulary import ChainState, NoticeAction, NoticeState, WebhookEvent

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
