"""Metadata with a naming convention, and column helpers every table uses."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

# Stable constraint names, so migrations can refer to them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = SQLModel.metadata


# Default factories are plain Python functions, never the builtins `list` / `dict`: pydantic
# inspects a factory's signature each time a model is built, and for a builtin that means
# parsing its text signature (~90 µs a field on these machines, against ~8 µs for a function).
def empty_list() -> list[Any]:
    return []


def empty_dict() -> dict[str, Any]:
    return {}


def uuid_pk() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def created_at() -> Any:
    """A timezone-aware creation time filled by the database."""
    return Field(
        default=None,
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def timestamp(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index))


def jsonb(*, nullable: bool = False) -> Any:
    return Field(default_factory=empty_dict, sa_column=Column(JSONB, nullable=nullable))


__all__ = ["SQLModel", "created_at", "datetime", "jsonb", "metadata", "timestamp", "uuid_pk"]
