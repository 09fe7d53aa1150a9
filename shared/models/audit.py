"""The append-only, hash-chained audit log (written by the api, in each change's transaction)."""

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    """Who did what to which record, with the record before and after.

    `hash` = sha256(`prev_hash` + the row's canonical JSON): altering, removing or
    reordering a row breaks the chain from there on (`duban audit verify`).
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)
    subtree_column: ClassVar[str] = "unit_id"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    actor_kind: str = Field(max_length=16)
    actor_id: str = Field(max_length=80)
    action: str = Field(max_length=64)
    entity: str = Field(max_length=64)
    entity_id: str = Field(max_length=80)
    unit_id: uuid.UUID | None = Field(default=None, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    request_id: str | None = Field(default=None, max_length=128)
    prev_hash: str = Field(sa_column=Column(Text, nullable=False))
    hash: str = Field(sa_column=Column(Text, nullable=False, unique=True))
