"""Notices and the chains they climb (written by the notifier; the api serves them)."""

import uuid
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from shared.models.base import empty_dict, timestamp, uuid_pk
from shared.vocabulary import checks_of


class NoticeChain(SQLModel, table=True):
    """One matter chased up the ladder: a report period owed, a milestone, a problem, a project
    behind its plan, the office's own notice, a bottom ranking or a failing grade.

    One row per (rule, subject, period), however often a sweep finds it; written only through
    services/notifier/chains.py. `next_level_on` is the day its next rung fires (one clock:
    services/notifier/ladder.py), so a sweep reads the open chains due by today (indexed)
    instead of every report and notice ever written. `policy` is the ladder as it was when the
    chain opened: a program's new ladder applies to new chains only."""

    __tablename__ = "notice_chain"
    __table_args__ = (
        *(CheckConstraint(condition, name=name) for name, condition in checks_of("notice_chain")),
        UniqueConstraint("rule", "subject_type", "subject_id", "period"),
        Index("ix_notice_chain_next", "next_level_on", postgresql_where="state = 'open'"),
        Index("ix_notice_chain_open", "program_id", "rule", postgresql_where="state = 'open'"),
    )
    subtree_column: ClassVar[str] = "recipient_unit_id"

    id: uuid.UUID = uuid_pk()
    program_id: uuid.UUID = Field(foreign_key="program.id", index=True)
    rule: str = Field(max_length=32)
    subject_type: str = Field(max_length=16)  # project | unit
    subject_id: uuid.UUID
    schedule_kind: str = Field(max_length=32)
    period: str = Field(max_length=16)
    recipient_unit_id: uuid.UUID = Field(foreign_key="unit.id", index=True)
    due_date: date  # the report's last day (inclusive)
    policy: dict[str, Any] = Field(default_factory=empty_dict, sa_column=Column(JSONB, nullable=False))
    level: int = Field(default=-1)  # the `level` of the rung last issued; -1 before the first
    last_issued_on: date | None = None
    next_level_on: date | None = None
    paused_on: date | None = None  # feedback or an explanation held the clock from this day
    # the kind of rung it starts on (a condition's or an event's chain); None: a deadline's chain
    # (the reminder before the deadline, urging after it)
    start_kind: str | None = Field(default=None, max_length=32)
    title: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    state: str = Field(default="open", max_length=16)
    closed_reason: str | None = Field(default=None, max_length=64)  # a ChainClosed
    opened_at: datetime = timestamp(nullable=False)
    closed_at: datetime | None = timestamp()


class Notice(SQLModel, table=True):
    """One rung of a chain, sent to a unit: exactly one per (chain, level)."""

    __tablename__ = "notice"
    __table_args__ = (
        *(CheckConstraint(condition, name=name) for name, condition in checks_of("notice")),
        UniqueConstraint("chain_id", "level"),
        Index("ix_notice_recipient_state", "recipient_unit_id", "state"),
        Index("ix_notice_parent", "parent_id", postgresql_where="parent_id IS NOT NULL"),
        Index(
            "ix_notice_undigested",
            "recipient_unit_id",
            postgresql_where="digest_id IS NULL AND state IN ('issued', 'reopened')",
        ),
    )
    subtree_column: ClassVar[str] = "recipient_unit_id"

    id: uuid.UUID = uuid_pk()
    chain_id: uuid.UUID = Field(foreign_key="notice_chain.id", index=True)
    program_id: uuid.UUID = Field(foreign_key="program.id", index=True)
    kind: str = Field(max_length=32)
    level: int
    recipient_unit_id: uuid.UUID = Field(foreign_key="unit.id")
    recipient: str = Field(max_length=100)  # who in the unit: liaison, unit head, …
    subject_type: str = Field(max_length=16)
    subject_id: uuid.UUID
    period: str = Field(max_length=16)
    requirements: str = Field(sa_column=Column(Text, nullable=False))
    issued_on: date
    issued_at: datetime = timestamp(nullable=False)  # the instant of the sweep that issued it
    due_date: date
    state: str = Field(default="issued", max_length=24)
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="notice.id")  # indexed (ix_notice_parent)
    closed_at: datetime | None = timestamp()
    digest_id: uuid.UUID | None = Field(
        default=None, foreign_key="notice_digest.id"
    )  # the message it went in
    # how many of its recorded actions (notice_action, in (at, id) order) the notifier has applied
    actions_applied: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class NoticeDigest(SQLModel, table=True):
    """One message a day to a unit's liaison listing its new notices (not one per notice): one
    per (unit, day), written before it is sent, marked once the channel took it."""

    __tablename__ = "notice_digest"
    __table_args__ = (
        UniqueConstraint("unit_id", "day"),
        Index("ix_notice_digest_unsent", "created_at", postgresql_where="sent_at IS NULL"),
    )
    subtree_column: ClassVar[str] = "unit_id"

    id: uuid.UUID = uuid_pk()
    unit_id: uuid.UUID = Field(foreign_key="unit.id")
    day: date
    to_name: str | None = Field(default=None, max_length=100)  # the liaison, as the unit names them
    body: str = Field(sa_column=Column(Text, nullable=False))
    notices: int
    created_at: datetime = timestamp(nullable=False)
    sent_at: datetime | None = timestamp()
    channel: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = timestamp()  # before deliveries: a pass was sending it (a lease)
    # when its deliveries (NoticeDelivery) were written; a digest from before them has none yet
    planned_at: datetime | None = timestamp()


class NoticeActionRecord(SQLModel, table=True):
    """What a person did with a notice (written by the api; the notifier applies it): an
    append-only record of who answered, explained, accepted or rejected what, when and why. The
    office decides each answer once: an accept or reject names the answer it decides."""

    __tablename__ = "notice_action"
    __table_args__ = (
        *(CheckConstraint(condition, name=name) for name, condition in checks_of("notice_action")),
        Index(
            "uq_notice_action_decides", "decides_id", unique=True, postgresql_where="decides_id IS NOT NULL"
        ),
    )

    id: uuid.UUID = uuid_pk()
    notice_id: uuid.UUID = Field(foreign_key="notice.id", index=True)
    action: str = Field(max_length=16)
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    actor: str = Field(max_length=80)
    at: datetime = timestamp(nullable=False)
    decides_id: uuid.UUID | None = Field(default=None, foreign_key="notice_action.id")
    proposed_due_date: date | None = None  # an explanation's proposed deadline
    due_date: date | None = None  # a rejected feedback's new deadline (退办)


class NoticeDelivery(SQLModel, table=True):
    """A digest to one person through one channel: what went to whom, when, through what, and
    what the gateway said. One row per (digest, person, channel), written with the digest, so a
    retry or a second pass never sends a person the same digest twice through one channel."""

    __tablename__ = "notice_delivery"
    __table_args__ = (
        *(CheckConstraint(condition, name=name) for name, condition in checks_of("notice_delivery")),
        UniqueConstraint("digest_id", "person", "channel"),
        Index("ix_notice_delivery_due", "next_attempt_at", postgresql_where="state = 'pending'"),
        Index("ix_notice_delivery_address", "channel", "address_key", "created_at"),
    )
    subtree_column: ClassVar[str] = "unit_id"

    id: uuid.UUID = uuid_pk()
    digest_id: uuid.UUID = Field(foreign_key="notice_digest.id", index=True)
    unit_id: uuid.UUID = Field(foreign_key="unit.id", index=True)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="app_user.id")
    person: str = Field(max_length=64)  # the user's id, or "liaison": the unit's own named liaison
    to_name: str | None = Field(default=None, max_length=100)
    address: str | None = Field(default=None, max_length=254)  # as shown: an e-mail, a masked phone
    # the address's keyed fingerprint (shared.crypto.SecretBox.fingerprint): messages a day to one number
    address_key: str | None = Field(default=None, max_length=64)
    channel: str = Field(max_length=32)
    duties: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    state: str = Field(default="pending", max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = timestamp(nullable=False)
    claimed_until: datetime | None = timestamp()
    provider_id: str | None = Field(default=None, max_length=128)  # the gateway's message or request id
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    sent_at: datetime | None = timestamp()
    created_at: datetime = timestamp(nullable=False)
