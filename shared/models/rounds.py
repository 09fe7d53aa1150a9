"""Quarterly observation rounds (观摩评比) and the scores inspectors send from their phones (the
api owns both; the ranker reads the scores and owns what it computes from them)."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import Boolean, CheckConstraint, Column, Numeric, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from shared.models.base import created_at, empty_dict, empty_list, timestamp, uuid_pk
from shared.models.library import Program
from shared.vocabulary import checks_of


class ObservationRound(SQLModel, table=True):
    """One quarter's observation of a program's projects: its window, rubric, inspectors and the
    settings its ranking is computed with (API.md "How a round is scored")."""

    __tablename__ = "observation_round"
    __table_args__ = (*(CheckConstraint(c, name=n) for n, c in checks_of("observation_round")),)
    subtree_via: ClassVar[tuple[str, type[SQLModel]]] = ("program_id", Program)

    id: uuid.UUID = uuid_pk()
    program_id: uuid.UUID = Field(foreign_key="program.id", index=True)
    name: str = Field(max_length=200)
    quarter: str = Field(max_length=8)  # 2018Q3
    opens_at: datetime = timestamp(nullable=False)
    closes_at: datetime = timestamp(nullable=False)
    grace_hours: int = Field(default=24)
    rubric: list[dict[str, Any]] = Field(default_factory=empty_list, sa_column=Column(JSONB, nullable=False))
    aggregation: dict[str, Any] = Field(default_factory=empty_dict, sa_column=Column(JSONB, nullable=False))
    observation_weight: Decimal = Field(sa_column=Column(Numeric, nullable=False))
    objective_weights: dict[str, Any] = Field(
        default_factory=empty_dict, sa_column=Column(JSONB, nullable=False)
    )
    tie_break: str = Field(max_length=32)
    praise_top: int = Field(default=3)
    criticise_bottom: int = Field(default=3)
    state: str = Field(default="draft", max_length=16)
    version: int = Field(default=1)
    created_by: str = Field(max_length=100)
    created_at: datetime = created_at()
    opened_at: datetime | None = timestamp()
    closed_at: datetime | None = timestamp()
    published_version: int | None = None  # the ranker's snapshot the office published
    published_at: datetime | None = timestamp()
    published_by: str | None = Field(default=None, max_length=100)


class RoundProject(SQLModel, table=True):
    """A project in a round's scope."""

    __tablename__ = "round_project"

    round_id: uuid.UUID = Field(foreign_key="observation_round.id", primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="project.id", primary_key=True, index=True)


class RoundInspector(SQLModel, table=True):
    """A person assigned to score a round's projects."""

    __tablename__ = "round_inspector"

    round_id: uuid.UUID = Field(foreign_key="observation_round.id", primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="app_user.id", primary_key=True, index=True)


class ObservationScore(SQLModel, table=True):
    """An inspector's standing score of one criterion of one project: one row per (round,
    inspector, project, criterion); a score taken later (by `scored_at`) replaces it, one taken
    earlier and arriving later changes nothing."""

    __tablename__ = "observation_score"
    __table_args__ = (UniqueConstraint("round_id", "inspector_id", "project_id", "criterion"),)

    id: uuid.UUID = uuid_pk()
    round_id: uuid.UUID = Field(foreign_key="observation_round.id")
    inspector_id: uuid.UUID = Field(foreign_key="app_user.id")
    project_id: uuid.UUID = Field(foreign_key="project.id")
    criterion: str = Field(max_length=64)
    value: Decimal = Field(sa_column=Column(Numeric(12, 4), nullable=False))
    scored_at: datetime = timestamp(nullable=False)
    client_id: uuid.UUID  # the phone's id of the score that stands
    received_at: datetime = timestamp(nullable=False)
    # entered by the office from the inspector's paper score sheet (POST /rounds/{id}/sheets)
    entered_by_office: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})


class ScoreReceipt(SQLModel, table=True):
    """Every score a phone sent and the round took, by its `client_id`: a resend is a duplicate,
    whether or not it still stands."""

    __tablename__ = "score_receipt"

    round_id: uuid.UUID = Field(foreign_key="observation_round.id", primary_key=True)
    inspector_id: uuid.UUID = Field(primary_key=True)
    client_id: uuid.UUID = Field(primary_key=True)
    received_at: datetime = created_at()


class RoundSnapshot(SQLModel, table=True):
    """One computation of a round's results (written by the ranker, never edited): every
    component of every row, the rankings by project, unit and region, and the fairness figures,
    as one canonical document; `digest` is the SHA-256 of its bytes, so the same inputs give the
    same digest. A recompute whose document differs from the latest makes version n+1."""

    __tablename__ = "round_snapshot"
    __table_args__ = (UniqueConstraint("round_id", "version"),)

    id: uuid.UUID = uuid_pk()
    round_id: uuid.UUID = Field(foreign_key="observation_round.id", index=True)
    version: int
    digest: str = Field(max_length=64)
    document: dict[str, Any] = Field(default_factory=empty_dict, sa_column=Column(JSONB, nullable=False))
    computed_at: datetime = timestamp(nullable=False)


class SnapshotRatings(SQLModel, table=True):
    """The inspectors' scores of one project as a snapshot used them, side by side (one row per
    project, not per rating: a province's round writes 1,000 rows, not 100,000): each one's
    rubric-weighted score, its z-score mapping or its adjusted score (less the inspector's
    effect) when the round normalizes, and whether it was a complete rubric and whether it was
    trimmed."""

    __tablename__ = "snapshot_ratings"

    snapshot_id: uuid.UUID = Field(foreign_key="round_snapshot.id", primary_key=True)
    project_id: uuid.UUID = Field(primary_key=True)
    inspector_ids: list[uuid.UUID] = Field(sa_column=Column(ARRAY(Uuid), nullable=False))
    scores: list[Decimal] = Field(sa_column=Column(ARRAY(Numeric), nullable=False))
    z: list[Decimal | None] = Field(sa_column=Column(ARRAY(Numeric), nullable=False))
    # each complete rating less its inspector's fitted effect, when the round adjusted for them
    adjusted: list[Decimal | None] | None = Field(
        default=None, sa_column=Column(ARRAY(Numeric), nullable=True)
    )
    complete: list[bool] = Field(sa_column=Column(ARRAY(Boolean), nullable=False))
    trimmed: list[bool] = Field(sa_column=Column(ARRAY(Boolean), nullable=False))


class Assessment(SQLModel, table=True):
    """A published half-year (`half` 1 or 2) or annual (`half` 0) assessment of a program's
    responsible units, frozen as published (written by the ranker; a republication with other
    results is version n+1)."""

    __tablename__ = "assessment"
    __table_args__ = (UniqueConstraint("program_id", "year", "half", "version"),)

    id: uuid.UUID = uuid_pk()
    program_id: uuid.UUID = Field(foreign_key="program.id", index=True)
    year: int
    half: int = Field(default=0)
    version: int
    digest: str = Field(max_length=64)
    document: dict[str, Any] = Field(default_factory=empty_dict, sa_column=Column(JSONB, nullable=False))
    published_at: datetime = timestamp(nullable=False)
    published_by: str = Field(max_length=100)


class YearEndEvaluation(SQLModel, table=True):
    """The office's year-end evaluation (年终考评) of a responsible unit, 0–100: with a program's
    `assessment.year_end_weight`, part of the unit's annual score (written by the api)."""

    __tablename__ = "year_end_evaluation"

    program_id: uuid.UUID = Field(foreign_key="program.id", primary_key=True)
    year: int = Field(primary_key=True)
    unit_id: uuid.UUID = Field(foreign_key="unit.id", primary_key=True)
    score: Decimal = Field(sa_column=Column(Numeric(5, 2), nullable=False))
    entered_by: str = Field(max_length=100)
    entered_at: datetime = timestamp(nullable=False)
