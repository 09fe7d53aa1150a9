"""Standing supervision teams (督导组), their visits, findings and the evidence phones send."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import CheckConstraint, Column, Date, Index, Numeric, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from shared.models.base import created_at, empty_list, timestamp, uuid_pk
from shared.models.library import Program
from shared.vocabulary import checks_of


class Team(SQLModel, table=True):
    """A standing supervision team of a program: fixed staff (a leader and members), fixed
    regions or actions (`TeamCover`), and its cadence — how often each kind of visit is due."""

    __tablename__ = "team"
    __table_args__ = (UniqueConstraint("program_id", "name"),)
    subtree_via: ClassVar[tuple[str, type]] = ("program_id", Program)

    id: uuid.UUID = uuid_pk()
    program_id: uuid.UUID = Field(foreign_key="program.id", index=True)
    name: str = Field(max_length=100)
    leader_user_id: uuid.UUID = Field(foreign_key="app_user.id")
    # [{kind, every_working_days}]: a visit of each kind at most this many working days apart
    cadence: list[dict[str, Any]] = Field(default_factory=empty_list, sa_column=Column(JSONB, nullable=False))
    since: date = Field(sa_column=Column(Date, nullable=False))  # the cadence counts from this day
    version: int = Field(default=1)
    created_by: str = Field(max_length=80)
    created_at: datetime = created_at()
    updated_at: datetime | None = timestamp()


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_member"

    team_id: uuid.UUID = Field(foreign_key="team.id", primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="app_user.id", primary_key=True, index=True)


class TeamCover(SQLModel, table=True):
    """What a team watches: a unit (a region) or a task (an action). One team per unit or task
    in a program: the primary key says so."""

    __tablename__ = "team_cover"
    __table_args__ = (CheckConstraint("target_type IN ('unit', 'task')", name="target_type"),)

    program_id: uuid.UUID = Field(foreign_key="program.id", primary_key=True)
    target_type: str = Field(max_length=8, primary_key=True)
    target_id: uuid.UUID = Field(primary_key=True)
    team_id: uuid.UUID = Field(foreign_key="team.id", index=True)


class Visit(SQLModel, table=True):
    """A visit a team made: joint supervision, on site, or its meeting; who went, what was seen.
    Seen by the program's office, the team, and the units the team covers or a finding names
    (services/api/auth/scope.py)."""

    __tablename__ = "visit"
    __table_args__ = (
        *(CheckConstraint(condition, name=name) for name, condition in checks_of("visit")),
        Index("ix_visit_team_kind_day", "team_id", "kind", "visited_on"),
    )

    id: uuid.UUID = uuid_pk()
    program_id: uuid.UUID = Field(foreign_key="program.id", index=True)
    team_id: uuid.UUID = Field(foreign_key="team.id")
    kind: str = Field(max_length=16)
    visited_on: date = Field(sa_column=Column(Date, nullable=False))
    places: list[str] = Field(default_factory=empty_list, sa_column=Column(JSONB, nullable=False))
    project_ids: list[uuid.UUID] = Field(
        default_factory=empty_list, sa_column=Column(ARRAY(PG_UUID(as_uuid=True)), nullable=False)
    )
    participants: list[str] = Field(default_factory=empty_list, sa_column=Column(JSONB, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: str = Field(max_length=80)
    created_at: datetime = created_at()


class Finding(SQLModel, table=True):
    """What a visit found wrong: the unit that must put it right, on which project or task, what
    it must do and by when. Its notice (`notice_id`, issued by the notifier under that id) is
    chased up the ladder until the office confirms the rectification."""

    __tablename__ = "finding"
    __table_args__ = tuple(CheckConstraint(condition, name=name) for name, condition in checks_of("finding"))
    subtree_via: ClassVar[tuple[str, type]] = ("visit_id", Visit)

    id: uuid.UUID = uuid_pk()
    visit_id: uuid.UUID = Field(foreign_key="visit.id", index=True)
    program_id: uuid.UUID = Field(foreign_key="program.id", index=True)
    position: int = Field(default=0)
    unit_id: uuid.UUID = Field(foreign_key="unit.id", index=True)
    project_id: uuid.UUID | None = Field(default=None, foreign_key="project.id")
    task_id: uuid.UUID | None = Field(default=None, foreign_key="task.id")
    severity: str = Field(max_length=16)
    requirement: str = Field(sa_column=Column(Text, nullable=False))
    due_date: date = Field(sa_column=Column(Date, nullable=False))
    notice_id: uuid.UUID = Field(unique=True)  # the notifier issues the notice under this id
    state: str = Field(default="open", max_length=16)
    opened_at: datetime = timestamp(nullable=False)
    rectified_at: datetime | None = timestamp()
    confirmed_by: str | None = Field(default=None, max_length=80)


class EvidenceFile(SQLModel, table=True):
    """A photo or document a phone sent for a visit (or one of its findings). The bytes live in
    the file store under their SHA-256 (shared/filestore.py); an image's copy without its EXIF
    is what people outside the finding's unit receive. One row per (visit, content): a re-sent
    upload finds the row it made."""

    __tablename__ = "evidence_file"
    __table_args__ = (UniqueConstraint("visit_id", "sha256"),)
    subtree_via: ClassVar[tuple[str, type]] = ("visit_id", Visit)

    id: uuid.UUID = uuid_pk()
    visit_id: uuid.UUID = Field(foreign_key="visit.id", index=True)
    finding_id: uuid.UUID | None = Field(default=None, foreign_key="finding.id")
    sha256: str = Field(max_length=64)
    media_type: str = Field(max_length=64)
    size: int
    filename: str | None = Field(default=None, max_length=200)
    public_sha256: str | None = Field(default=None, max_length=64)  # the copy without EXIF
    public_media_type: str | None = Field(default=None, max_length=64)
    captured_at: datetime | None = timestamp()
    latitude: Decimal | None = Field(default=None, sa_column=Column(Numeric(9, 6), nullable=True))
    longitude: Decimal | None = Field(default=None, sa_column=Column(Numeric(9, 6), nullable=True))
    accuracy_m: Decimal | None = Field(default=None, sa_column=Column(Numeric(9, 1), nullable=True))
    distance_m: Decimal | None = Field(default=None, sa_column=Column(Numeric(12, 1), nullable=True))
    far: bool = Field(default=False)  # taken further than the set distance from the project
    received_at: datetime = timestamp(nullable=False)
    uploaded_by: str = Field(max_length=80)
