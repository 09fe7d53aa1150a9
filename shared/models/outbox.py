"""The transactional outbox: a message to another service, written with the change it announces."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from shared.models.base import created_at, jsonb, timestamp, uuid_pk


class OutboxMessage(SQLModel, table=True):
    """A job for a worker; its id is the message id and the arq `_job_id`."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_unsent", "created_at", postgresql_where=text("sent_at IS NULL")),
        Index("ix_outbox_target_sent_at", "target", "sent_at"),
    )

    id: uuid.UUID = uuid_pk()
    producer: str = Field(max_length=32)
    target: str = Field(max_length=32)
    job: str = Field(max_length=64)
    payload: dict[str, Any] = jsonb()
    created_at: datetime = created_at()
    sent_at: datetime | None = timestamp()
    attempts: int = Field(default=0)
