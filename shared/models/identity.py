"""Units, people, system clients, liaison history (all written by the api)."""

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from shared.models.base import created_at, empty_list, timestamp, uuid_pk
from shared.vocabulary import checks_of


def _strings() -> Any:
    return Field(default_factory=empty_list, sa_column=Column(ARRAY(String(64)), nullable=False))


class Unit(SQLModel, table=True):
    """An office, department, local government, owner, bank or platform, in one tree."""

    __tablename__ = "unit"
    __table_args__ = (
        *(CheckConstraint(condition, name=name) for name, condition in checks_of("unit")),
        Index("ix_unit_path", "path", postgresql_ops={"path": "text_pattern_ops"}),
        Index(
            "ix_unit_region_code",
            "region_code",
            unique=True,
            postgresql_where=text("region_code IS NOT NULL"),
        ),
    )
    # The column that places a row in the unit tree (see services.api.auth.scope).
    subtree_column: ClassVar[str] = "id"

    id: uuid.UUID = uuid_pk()
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    parent_id: uuid.UUID | None = Field(default=None, sa_column=Column(ForeignKey("unit.id"), nullable=True))
    # "/<root id>/…/<own id>/": a unit's subtree is every path starting with its own.
    path: str = Field(sa_column=Column(Text, nullable=False))
    region_code: str | None = Field(default=None, max_length=12)  # one unit per code (a partial unique index)
    liaison_name: str | None = Field(default=None, max_length=100)
    liaison_phone_encrypted: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    version: int = Field(default=1)
    created_at: datetime = created_at()
    updated_at: datetime | None = timestamp()


class LiaisonChange(SQLModel, table=True):
    """A liaison a unit named, and when (000 二(五): a change is recorded at once)."""

    __tablename__ = "liaison_change"
    subtree_column: ClassVar[str] = "unit_id"

    id: uuid.UUID = uuid_pk()
    unit_id: uuid.UUID = Field(foreign_key="unit.id", index=True)
    liaison_name: str | None = Field(default=None, max_length=100)
    liaison_phone_encrypted: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    changed_by: str = Field(max_length=80)
    changed_at: datetime = created_at()


class AppUser(SQLModel, table=True):
    """A person who signs in with a password."""

    __tablename__ = "app_user"
    __table_args__ = (*(CheckConstraint(condition, name=name) for name, condition in checks_of("app_user")),)
    subtree_column: ClassVar[str] = "unit_id"

    id: uuid.UUID = uuid_pk()
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=100)
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    unit_id: uuid.UUID = Field(foreign_key="unit.id", index=True)
    roles: list[str] = _strings()
    is_active: bool = Field(default=True)
    created_at: datetime = created_at()
    # Where notices reach the person (services/notifier): an e-mail address, a mobile number
    # (sealed like a liaison's phone), and who they are in their unit (shared.vocabulary.Duty).
    email: str | None = Field(default=None, max_length=254)
    mobile_encrypted: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    duties: list[str] = _strings()
    # a one-time password set by an admin: the person changes it before anything else
    must_change_password: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    # tokens issued before this instant are refused (deactivation, a reset, a password change)
    tokens_valid_after: datetime | None = timestamp()
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class ApiClient(SQLModel, table=True):
    """Another government system, signing in with client credentials."""

    __tablename__ = "api_client"
    __table_args__ = (UniqueConstraint("client_id"),)
    subtree_column: ClassVar[str] = "unit_id"

    id: uuid.UUID = uuid_pk()
    client_id: str = Field(max_length=64)
    name: str = Field(max_length=200)
    secret_hash: str = Field(sa_column=Column(Text, nullable=False))
    unit_id: uuid.UUID = Field(foreign_key="unit.id", index=True)
    scopes: list[str] = _strings()
    is_active: bool = Field(default=True)
    created_at: datetime = created_at()
    rotated_at: datetime | None = timestamp()
