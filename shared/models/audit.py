"""The append-only, hash-chained audit log (written by the api, in each change's transaction)."""

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, Identity, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class AuditEntry(SQLModel, table=True):
    """Who did what to which record, with the record before and after.

    Writers append rows without a hash, in their change's transaction. Once committed, a
    row is chained (shared.audit.chain): it gets the next `seq` and
    `hash` = sha256(`prev_hash` + the row's canonical JSON), so altering, removing or
    reordering a chained row breaks the chain from there on (`duban audit verify`).
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_entity", "entity", "entity_id"),
        Index("ix_audit_log_unchained", "id", postgresql_where=text("hash IS NULL")),
        CheckConstraint(
            "(seq IS NULL AND prev_hash IS NULL AND hash IS NULL) "
            "OR (seq IS NOT NULL AND prev_hash IS NOT NULL AND hash IS NOT NULL)",
            name="chained_whole",
        ),
    )
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
    seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, unique=True))
    prev_hash: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    hash: str | None = Field(default=None, sa_column=Column(Text, nullable=True, unique=True))
