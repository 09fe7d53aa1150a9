"""Webhook subscriptions (written by the api) and their deliveries (written by the notifier)."""

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import CheckConstraint, Column, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from shared.models.base import created_at, empty_dict, empty_list, timestamp, uuid_pk
from shared.vocabulary import checks_of


class Webhook(SQLModel, table=True):
    """Another system's URL that wants events about the subjects its unit can see."""

    __tablename__ = "webhook"
    __table_args__ = (*(CheckConstraint(condition, name=name) for name, condition in checks_of("webhook")),)
    subtree_column: ClassVar[str] = "unit_id"

    id: uuid.UUID = uuid_pk()
    unit_id: uuid.UUID = Field(foreign_key="unit.id", index=True)
    url: str = Field(sa_column=Column(Text, nullable=False))
    events: list[str] = Field(default_factory=empty_list, sa_column=Column(ARRAY(String(64)), nullable=False))
    secret_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    is_active: bool = Field(default=True)
    created_by: str = Field(max_length=80)
    created_at: datetime = created_at()


class WebhookDelivery(SQLModel, table=True):
    """One event for one webhook: attempted until delivered or out of attempts."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        *(CheckConstraint(condition, name=name) for name, condition in checks_of("webhook_delivery")),
        UniqueConstraint("webhook_id", "message_id"),
        Index("ix_webhook_delivery_due", "next_attempt_at", postgresql_where="state = 'pending'"),
    )
    subtree_via: ClassVar[tuple[str, type]] = ("webhook_id", Webhook)

    id: uuid.UUID = uuid_pk()
    webhook_id: uuid.UUID = Field(foreign_key="webhook.id", index=True)
    message_id: uuid.UUID
    event: str = Field(max_length=64)
    body: dict[str, Any] = Field(default_factory=empty_dict, sa_column=Column(JSONB, nullable=False))
    state: str = Field(default="pending", max_length=16)  # pending | delivered | failed
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = timestamp()
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    delivered_at: datetime | None = timestamp()
    created_at: datetime = created_at()
