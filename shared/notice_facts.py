"""What a notice waits on, as SQL the api (the inbox) and the notifier (the office's reminders)
both read: an answer the office has yet to decide, and since when."""

from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import col

from shared.models import Notice, NoticeActionRecord
from shared.vocabulary import NoticeAction, NoticeState

ANSWERS = (NoticeAction.FEEDBACK, NoticeAction.EXPLANATION)
AWAITING = (NoticeState.FEEDBACK_SUBMITTED, NoticeState.EXPLANATION_SUBMITTED)  # the office decides


def awaiting_since() -> Any:
    """When the answer the office has yet to decide came, for a notice awaiting a decision."""
    latest = (
        select(func.max(col(NoticeActionRecord.at)))
        .where(
            col(NoticeActionRecord.notice_id) == col(Notice.id), col(NoticeActionRecord.action).in_(ANSWERS)
        )
        .scalar_subquery()
    )
    return case((col(Notice.state).in_(AWAITING), latest), else_=None)


__all__ = ["ANSWERS", "AWAITING", "awaiting_since"]
