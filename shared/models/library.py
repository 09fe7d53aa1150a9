"""Programs, tasks with targets, and the project library (all written by the api)."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from shared.models.base import created_at, empty_list, jsonb, timestamp, uuid_pk
from shared.vocabulary import checks_of


def money(*, nullable: bool = False) -> Any:
    """万元 with two decimals: NUMERIC, never float."""
    return Field(
        default=None if nullable else Decimal(0), sa_column=Column(Numeric(16, 2), nullable=nullable)
    )


def _unit_ref(*, nullable: bool = False, index: bool = True) -> Any:
    return Field(
        default=None,
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("unit.id"), nullable=nullable, index=index),
    )


class Program(SQLModel, table=True):
    """A program such as 百城建设提质工程 2018, run by an office; its settings are data."""

    __tablename__ = "program"
    # Shared down the office's tree: every unit below the office takes part in it.
    subtree_column: ClassVar[str] = "office_unit_id"
    shared_down: ClassVar[bool] = True

    id: uuid.UUID = uuid_pk()
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    year: int
    office_unit_id: uuid.UUID = _unit_ref()
    categories: list[str] = Field(
        default_factory=empty_list, sa_column=Column(ARRAY(String(64)), nullable=False)
    )
    settings: dict[str, Any] = jsonb()
    version: int = Field(default=1)
    created_at: datetime = created_at()
    updated_at: datetime | None = timestamp()
    # closed (POST /programs/{id}/close): read-only, no sweep chases it, its open chains end
    closed_at: datetime | None = timestamp()
    closed_by: str | None = Field(default=None, max_length=80)
    closed_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Task(SQLModel, table=True):
    """A numbered task of a program, with its units and quantified targets."""

    __tablename__ = "task"
    __table_args__ = (UniqueConstraint("program_id", "number"),)
    subtree_via: ClassVar[tuple[str, type]] = ("program_id", Program)

    id: uuid.UUID = uuid_pk()
    program_id: uuid.UUID = Field(foreign_key="program.id", index=True)
    number: str = Field(max_length=32)
    title: str = Field(max_length=300)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    due_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    created_at: datetime = created_at()


class TaskUnit(SQLModel, table=True):
    """A unit's part in a task: lead (牵头), responsible (责任) or cooperating (配合)."""

    __tablename__ = "task_unit"
    __table_args__ = (*(CheckConstraint(condition, name=name) for name, condition in checks_of("task_unit")),)

    task_id: uuid.UUID = Field(foreign_key="task.id", primary_key=True)
    unit_id: uuid.UUID = Field(foreign_key="unit.id", primary_key=True, index=True)
    role: str = Field(max_length=16, primary_key=True)


class TaskTarget(SQLModel, table=True):
    """A quantified target: "road-network density 7 km/km² by 2018-12-31"."""

    __tablename__ = "task_target"
    __table_args__ = (
        *(CheckConstraint(condition, name=name) for name, condition in checks_of("task_target")),
        UniqueConstraint("task_id", "indicator", "due_date"),
    )

    id: uuid.UUID = uuid_pk()
    task_id: uuid.UUID = Field(foreign_key="task.id", index=True)
    indicator: str = Field(max_length=200)
    unit: str = Field(max_length=32)
    target_value: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    direction: str = Field(default="at_least", max_length=16)
    due_date: date = Field(sa_column=Column(Date, nullable=False))


class IndicatorValue(SQLModel, table=True):
    """An indicator's value as of a date, as reported."""

    __tablename__ = "indicator_value"
    __table_args__ = (Index("ix_indicator_value_task_indicator", "task_id", "indicator", "as_of"),)

    id: uuid.UUID = uuid_pk()
    task_id: uuid.UUID = Field(foreign_key="task.id")
    indicator: str = Field(max_length=200)
    value: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    as_of: date = Field(sa_column=Column(Date, nullable=False))
    reported_by: str = Field(max_length=80)
    created_at: datetime = created_at()


class Project(SQLModel, table=True):
    """A project in the library; only approved ones count."""

    __tablename__ = "project"
    __table_args__ = (
        *(CheckConstraint(condition, name=name) for name, condition in checks_of("project")),
        UniqueConstraint("program_id", "code"),
        Index("ix_project_program_status_stage", "program_id", "status", "stage"),
        Index("ix_project_program_updated", "program_id", "updated_at"),
    )
    # A project belongs to the subtrees of its region, its owner and its responsible unit.
    subtree_columns: ClassVar[tuple[str, ...]] = ("region_unit_id", "responsible_unit_id", "owner_unit_id")

    id: uuid.UUID = uuid_pk()
    program_id: uuid.UUID = Field(foreign_key="program.id")
    code: str = Field(max_length=64)
    name: str = Field(max_length=200)
    category: str = Field(max_length=64)
    region_unit_id: uuid.UUID = _unit_ref()
    owner_unit_id: uuid.UUID = _unit_ref()
    responsible_unit_id: uuid.UUID = _unit_ref()
    leader: dict[str, Any] = jsonb()
    service_team: list[dict[str, Any]] = Field(
        default_factory=empty_list, sa_column=Column(JSONB, nullable=False)
    )
    construction: str = Field(max_length=16)
    stage: str = Field(max_length=16)
    status: str = Field(default="draft", max_length=16)
    total_investment: Decimal = money()
    annual_plan: Decimal = money()
    start_date: date = Field(sa_column=Column(Date, nullable=False))
    end_date: date = Field(sa_column=Column(Date, nullable=False))
    monthly_plan: dict[str, Any] = jsonb()
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    location: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    return_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    version: int = Field(default=1)
    created_by: str = Field(max_length=80)
    created_at: datetime = created_at()
    updated_at: datetime | None = timestamp()
    submitted_at: datetime | None = timestamp()
    approved_at: datetime | None = timestamp()
    withdrawn_at: datetime | None = timestamp()
    # carried over (续建) from last year's program: the project it continues
    carried_from_id: uuid.UUID | None = Field(default=None, foreign_key="project.id")


class Milestone(SQLModel, table=True):
    """A node of the project's roadmap timetable (路线图时间表)."""

    __tablename__ = "milestone"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = Field(foreign_key="project.id", index=True)
    name: str = Field(max_length=200)
    planned_date: date = Field(sa_column=Column(Date, nullable=False))
    actual_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    position: int = Field(default=0)


class Adjustment(SQLModel, table=True):
    """A dynamic adjustment (动态调整): a project moved out, replacements moved in, and why."""

    __tablename__ = "adjustment"
    subtree_via: ClassVar[tuple[str, type]] = ("program_id", Program)

    id: uuid.UUID = uuid_pk()
    program_id: uuid.UUID = Field(foreign_key="program.id", index=True)
    withdrawn_project_id: uuid.UUID = Field(foreign_key="project.id")
    replacement_project_ids: list[uuid.UUID] = Field(
        default_factory=empty_list, sa_column=Column(ARRAY(PG_UUID(as_uuid=True)), nullable=False)
    )
    reason: str = Field(sa_column=Column(Text, nullable=False))
    approved_total_before: Decimal = money()
    approved_total_after: Decimal = money()
    decided_by: str = Field(max_length=80)
    decided_at: datetime = created_at()
