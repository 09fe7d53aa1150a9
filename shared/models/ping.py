"""A ping proves the whole path: api -> outbox -> relay -> Redis -> worker -> PostgreSQL."""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from shared.models.base import created_at, jsonb, uuid_pk


class Ping(SQLModel, table=True):
    """A ping an operator sent through the api (written by the api)."""

    __tablename__ = "ping"

    id: uuid.UUID = uuid_pk()
    targets: list[Any] = jsonb()
    delay_seconds: float = Field(default=0)
    created_at: datetime = created_at()


class NotifierPingReceipt(SQLModel, table=True):
    """The notifier's record of a ping it handled (written by the notifier)."""

    __tablename__ = "notifier_ping_receipt"

    id: uuid.UUID = uuid_pk()
    ping_id: uuid.UUID = Field(index=True)
    message_id: uuid.UUID
    job_try: int
    received_at: datetime = created_at()


class RankerPingReceipt(SQLModel, table=True):
    """The ranker's record of a ping it handled (written by the ranker)."""

    __tablename__ = "ranker_ping_receipt"

    id: uuid.UUID = uuid_pk()
    ping_id: uuid.UUID = Field(index=True)
    message_id: uuid.UUID
    job_try: int
    received_at: datetime = created_at()
