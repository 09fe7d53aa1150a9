"""Published bulletins (通报), frozen, and each program's Word template for them (written by the api)."""

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import CheckConstraint, Column, LargeBinary, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from shared.models.base import empty_dict, timestamp, uuid_pk
from shared.models.library import Program
from shared.vocabulary import checks_of


class Bulletin(SQLModel, table=True):
    """One published version of a bulletin: a program's month (`period` YYYY-MM) or an observation
    round's (`period` the round's id). The document is frozen: `digest` is the SHA-256 of its
    canonical JSON; publishing again with other figures makes version n+1."""

    __tablename__ = "bulletin"
    __table_args__ = (
        *(CheckConstraint(condition, name=name) for name, condition in checks_of("bulletin")),
        UniqueConstraint("program_id", "kind", "period", "version"),
    )
    subtree_via: ClassVar[tuple[str, type]] = ("program_id", Program)

    id: uuid.UUID = uuid_pk()
    program_id: uuid.UUID = Field(foreign_key="program.id", index=True)
    kind: str = Field(max_length=16)  # shared.vocabulary.BulletinKind
    period: str = Field(max_length=64)
    version: int
    number: str = Field(max_length=64)  # 发文字号, 〔2018〕5号
    digest: str = Field(max_length=64)
    document: dict[str, Any] = Field(default_factory=empty_dict, sa_column=Column(JSONB, nullable=False))
    as_of: datetime = timestamp(nullable=False)
    published_by: str = Field(max_length=80)
    published_at: datetime = timestamp(nullable=False)


class BulletinTemplate(SQLModel, table=True):
    """A program's own 红头 Word template for its 通报 drafts (docxtpl fields; checked on upload)."""

    __tablename__ = "bulletin_template"

    program_id: uuid.UUID = Field(foreign_key="program.id", primary_key=True)
    filename: str = Field(max_length=200)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sha256: str = Field(max_length=64)
    uploaded_by: str = Field(max_length=80)
    uploaded_at: datetime = timestamp(nullable=False)
