"""Report, dues and indicator bodies."""

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from services.api.projects.schemas import Money
from shared import clock
from shared.clock import OFFICE_TZ
from shared.dates import AS_OF_FORM, EARLIEST, LATEST, Day, Moment, Stamp, out_of_range
from shared.dues import end_of_day
from shared.errors import query_error
from shared.i18n import tr
from shared.numbers import Cents
from shared.vocabulary import DueState, MilestoneState, ScheduleKind, UnitReportKind

MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
WEEK = re.compile(r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$")

# A deadline reads best in China's time: every answer that carries one gives it at +08:00.
Deadline = Annotated[datetime, AfterValidator(lambda at: at.astimezone(OFFICE_TZ))]


class MilestoneActual(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="a milestone of the project, by name")
    actual_date: Day


class ProblemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=10_000)
    needs_coordination: bool = Field(
        default=False, description="a matter the office must coordinate (需协调事项)"
    )


class ProjectReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(examples=["2018-09"], description="YYYY-MM")
    investment_month: Money = Field(description="万元 completed this month")
    progress_percent: Decimal = Field(ge=0, le=100, max_digits=5, decimal_places=2)
    milestones: list[MilestoneActual] = Field(default_factory=list, max_length=100)
    problems: list[ProblemIn] = Field(default_factory=list, max_length=50)
    note: str | None = Field(default=None, max_length=10_000)
    filed_at: Moment | None = Field(
        default=None,
        description="office staff only: when the report was filed on paper, for history entered afterwards "
        "(late, dues and indicators read it); the report is marked recorded_by_office",
    )

    @field_validator("period")
    @classmethod
    def _month(cls, value: str) -> str:
        if not MONTH.match(value):
            raise ValueError(tr("expected a month as YYYY-MM, such as 2018-09"))

        return value


class ProjectReportPublic(BaseModel):
    id: UUID
    project_id: UUID
    period: str
    version: int
    investment_month: Cents
    investment_to_date: Cents = Field(description="万元, computed from every period's latest report")
    progress_percent: Cents
    milestones: list[MilestoneActual]
    note: str | None
    due_at: Deadline | None
    due_complete: bool = Field(description="false: the deadline's year had no calendar data (weekends only)")
    late: bool
    submitted_by: str
    submitted_at: Stamp = Field(description="when it was filed (for history: the filed_at the office gave)")
    recorded_by_office: bool = Field(description="history the office entered with its original filing time")
    problem_ids: list[UUID] = Field(
        default_factory=list, description="problems this report put in the ledger"
    )


class UnitReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: UnitReportKind
    period: str | None = Field(
        default=None, description="YYYY-Www (weekly), YYYY-MM (monthly), null (instant)"
    )
    body: str = Field(min_length=1, max_length=50_000)
    filed_at: Moment | None = Field(
        default=None,
        description="office staff only, weekly and monthly reports: when it was filed on paper, for "
        "history entered afterwards (dues and notices read it); the report is marked recorded_by_office",
    )


class UnitReportPublic(BaseModel):
    id: UUID
    unit_id: UUID
    kind: str
    period: str | None
    version: int
    body: str
    submitted_by: str
    submitted_at: Stamp = Field(description="when it was filed (for history: the filed_at the office gave)")
    recorded_by_office: bool = False


class Due(BaseModel):
    subject_type: Literal["unit", "project"]
    unit_id: UUID | None
    project_id: UUID | None
    code: str = Field(description="the unit's or the project's code")
    name: str = Field(description="the unit's or the project's name")
    responsible_unit_id: UUID | None = Field(
        description="a project's responsible unit (the unit itself for a unit)"
    )
    responsible_unit_code: str | None
    responsible_unit_name: str | None
    kind: ScheduleKind
    period: str
    due_date: date = Field(description="the last day it is due (inclusive), in China's time")
    due_at: Deadline = Field(description="the first instant it is late: the day after due_date, 00:00 +08:00")
    due_complete: bool = Field(description="false: the deadline's year had no calendar data (weekends only)")
    filed_at: Stamp | None
    state: DueState


class Dues(BaseModel):
    as_of: Stamp
    data: list[Due]
    count: int
    summary: dict[str, int]


class MilestoneStatePublic(BaseModel):
    name: str
    planned_date: date
    actual_date: date | None
    state: MilestoneState


class IndicatorsPublic(BaseModel):
    project_id: UUID
    as_of: Stamp
    investment_year_to_date: Cents
    investment_to_date: Cents
    annual_plan: Cents
    monthly_plan_to_date: Cents
    investment_rate: Cents | None = Field(
        description="min(100, 100 × investment in the year to date ÷ annual plan); null: no annual plan "
        "(not applicable: a round leaves it out and weighs the other parts up)"
    )
    monthly_plan_rate: Cents = Field(description="the same against the monthly plan to date")
    milestone_rate: Cents = Field(description="100 × milestones met on time ÷ milestones due")
    report_timeliness: Cents = Field(description="100 × reports filed on time ÷ reports due")
    progress_percent: Cents | None
    reports_due: int
    reports_on_time: int
    milestones: list[MilestoneStatePublic]


def as_of_param(
    as_of: Annotated[
        str | None,
        Query(
            description="an instant (RFC 3339) or a date (its end, Asia/Shanghai); default now",
            examples=["2018-10-08", "2018-10-08T09:00:00+08:00"],
            json_schema_extra={"pattern": AS_OF_FORM},  # declared; checked below in words
        ),
    ] = None,
) -> datetime:
    if as_of is None:
        return clock.now()
    day: date | None = None
    try:
        if len(as_of) == 10:
            day = date.fromisoformat(as_of)
        else:
            at = datetime.fromisoformat(as_of[:-1] + "+00:00" if as_of.endswith(("Z", "z")) else as_of)
    except ValueError:
        raise query_error(
            "as_of", tr("expected a date (2018-10-08) or an RFC 3339 instant (2018-10-08T09:00:00+08:00)")
        ) from None
    if not EARLIEST <= (day or at.date()) <= LATEST:
        raise query_error("as_of", out_of_range())
    if day is not None:
        return end_of_day(day)
    return at if at.tzinfo else at.replace(tzinfo=OFFICE_TZ)
