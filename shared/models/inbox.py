"""Inbox tables: the message ids each worker has applied, one table per worker."""

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from shared.models.base import created_at


class NotifierInbox(SQLModel, table=True):
    """Messages the notifier has applied."""

    __tablename__ = "notifier_inbox"

    message_id: uuid.UUID = Field(primary_key=True)
    job: str = Field(max_length=64)
    processed_at: datetime = created_at()


class RankerInbox(SQLModel, table=True):
    """Messages the ranker has applied."""

    __tablename__ = "ranker_inbox"

    message_id: uuid.UUID = Field(primary_key=True)
    job: str = Field(max_length=64)
    processed_at: datetime = created_at()
