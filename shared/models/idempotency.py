"""Stored responses of POSTs made with an `Idempotency-Key` (owned by the api)."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from shared.models.base import created_at, jsonb


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a (caller, key) pair, kept so a retry gets it again."""

    __tablename__ = "idempotency_key"

    scope: str = Field(primary_key=True, max_length=255)
    key: str = Field(primary_key=True, max_length=255)
    request_hash: str = Field(max_length=64)
    method: str = Field(max_length=8)
    path: str = Field(max_length=2048)
    status_code: int
    response_headers: dict[str, Any] = jsonb()
    response_body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = created_at()
