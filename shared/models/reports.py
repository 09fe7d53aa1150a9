"""The working-day calendar, reports units and projects file, and the problem ledger (api-owned)."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlmodel import Field, SQLModel

from shared.models.base import created_at, empty_list, timestamp, uuid_pk
from shared.models.library import Project, money
from shared.vocabulary import checks_of


class CalendarYear(SQLModel, table=True):
    """A year whose holidays and make-up working days are loaded."""

    __tablename__ = "calendar_year"

    year: int = Field(primary_key=True)
    source: str = Field(max_length=32)  # chinese-calendar | office
    updated_by: str = Field(max_length=80)
    updated_at: datetime = created_at()


class CalendarDay(SQLModel, table=True):
    """A day that breaks the weekday rule: a holiday, or a weekend day worked (调休)."""

    __tablename__ = "calendar_day"

    day: date = Field(sa_column=Column(Date, primary_key=True))
    year: int = Field(foreign_key="calendar_year.year", index=True)
    kind: str = Field(max_length=16)  # holiday | workday


class ReportDeadline(SQLModel, table=True):
    """A program's deadline for one period of a schedule, as `shared.dues` computed it, kept while
    the program's settings and the calendar years it used are unchanged (`stamp` says which).

    A memo, not a record: filing reads the deadline here in the same statement that files, and
    recomputes it (in Python, with the one calendar function) when the stamp no longer matches."""

    __tablename__ = "report_deadline"

    program_id: uuid.UUID = Field(
        sa_column=Column(
            PG_UUID(as_uuid=True), ForeignKey("program.id", ondelete="CASCADE"), primary_key=True
        )
    )
    kind: str = Field(max_length=32, primary_key=True)  # a schedule kind: project_monthly
    period: str = Field(max_length=16, primary_key=True)
    stamp: str = Field(sa_column=Column(Text, nullable=False))
    due_at: datetime | None = timestamp()
    due_complete: bool


class ProjectReport(SQLModel, table=True):
    """One version of a project's monthly report; the latest version of a period counts."""

    __tablename__ = "project_report"
    __table_args__ = (
        # also the index of a project's reports, by period and version
        UniqueConstraint("project_id", "period", "version"),
        Index("ix_project_report_program_period", "program_id", "period"),
    )
    subtree_via: ClassVar[tuple[str, type]] = ("project_id", Project)

    id: uuid.UUID = uuid_pk()
    project_id: uuid.UUID = Field(foreign_key="project.id")
    program_id: uuid.UUID = Field(foreign_key="program.id")
    period: str = Field(max_length=7)  # YYYY-MM
    version: int
    investment_month: Decimal = money()
    investment_to_date: Decimal = money()
    progress_percent: Decimal = Field(sa_column=Column(Numeric(5, 2), nullable=False))
    milestones: list[dict[str, Any]] = Field(
        default_factory=empty_list, sa_column=Column(JSONB, nullable=False)
    )
    coordination: list[dict[str, Any]] = Field(
        default_factory=empty_list, sa_column=Column(JSONB, nullable=False)
    )
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    due_at: datetime | None = timestamp()  # None: the program has no project monthly schedule
    due_complete: bool = True  # False: the deadline's year had no calendar data (weekends only)
    late: bool
    submitted_by: str = Field(max_length=80)
    submitted_at: datetime = timestamp(nullable=False)  # when it was filed (history: as the office says)
    # True: history the office entered with its original filing time, not filed through the api then
    recorded_by_office: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=text("false"))
    )


class UnitReport(SQLModel, table=True):
    """A unit's weekly, monthly or instant (重要情况即时报) report."""

    __tablename__ = "unit_report"
    __table_args__ = (
        *(CheckConstraint(condition, name=name) for name, condition in checks_of("unit_report")),
        Index("ix_unit_report_unit_kind_period", "unit_id", "kind", "period"),
    )
    subtree_column: ClassVar[str] = "unit_id"

    id: uuid.UUID = uuid_pk()
    unit_id: uuid.UUID = Field(foreign_key="unit.id")
    program_id: uuid.UUID | None = Field(default=None, foreign_key="program.id", index=True)
    kind: str = Field(max_length=16)  # weekly | monthly | instant
    period: str | None = Field(default=None, max_length=8)  # YYYY-Www | YYYY-MM | None
    version: int
    body: str = Field(sa_column=Column(Text, nullable=False))
    submitted_by: str = Field(max_length=80)
    submitted_at: datetime = timestamp(nullable=False)
    # history the office entered afterwards with the report's original filing time
    recorded_by_office: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})


class Problem(SQLModel, table=True):
    """A problem in the ledger: who owns it, by when, at which meeting level, how it ended."""

    __tablename__ = "problem"
    __table_args__ = (
        *(CheckConstraint(condition, name=name) for name, condition in checks_of("problem")),
        Index("ix_problem_program_state", "program_id", "state"),
    )
    subtree_column: ClassVar[str] = "owner_unit_id"

    id: uuid.UUID = uuid_pk()
    program_id: uuid.UUID = Field(foreign_key="program.id")
    project_id: uuid.UUID | None = Field(default=None, foreign_key="project.id", index=True)
    report_id: uuid.UUID | None = Field(default=None, foreign_key="project_report.id")
    owner_unit_id: uuid.UUID = Field(
        sa_column=Column(PG_UUID(as_uuid=True), ForeignKey("unit.id"), nullable=False, index=True)
    )
    title: str = Field(max_length=300)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    needs_coordination: bool = False
    state: str = Field(default="open", max_length=32)  # shared.vocabulary.ProblemState
    meeting_level: int = 0
    deadline: date = Field(sa_column=Column(Date, nullable=False))
    deadline_complete: bool = True
    resolution: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    raised_at: datetime = timestamp(nullable=False)
    resolved_at: datetime | None = timestamp()
    version: int = 1


class ProblemEvent(SQLModel, table=True):
    """What happened to a problem: raised, escalated (with reason), resolved."""

    __tablename__ = "problem_event"
    __table_args__ = (
        *(CheckConstraint(condition, name=name) for name, condition in checks_of("problem_event")),
    )

    id: uuid.UUID = uuid_pk()
    problem_id: uuid.UUID = Field(foreign_key="problem.id", index=True)
    action: str = Field(max_length=32)  # shared.vocabulary.ProblemAction
    from_level: int | None = None
    to_level: int | None = None
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    by: str = Field(max_length=80)
    at: datetime = timestamp(nullable=False)
