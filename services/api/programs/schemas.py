"""Program and task request and response bodies."""

from datetime import date
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.dates import Day, Stamp
from shared.i18n import N_, tr
from shared.numbers import Cents
from shared.program_settings import (
    AssessmentRules,
    BulletinRules,
    EscalationPolicy,
    LightRules,
    NoticeRules,
    ProblemRules,
    ReportSchedule,
)
from shared.vocabulary import TargetDirection, TargetState

Code = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")


def _distinct(values: list[str], duplicated: str) -> list[str]:
    """`values`, or the error `duplicated` (a message) when one is listed twice."""
    if len(values) != len(set(values)):
        raise ValueError(tr(duplicated))
    return values


class ProgramCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Code
    name: str = Field(min_length=1, max_length=200)
    year: int = Field(ge=2000, le=2100)
    office_unit_id: UUID
    categories: list[str] = Field(
        default_factory=list,
        max_length=50,
        json_schema_extra={"uniqueItems": True},
        description="Project categories, e.g. Luanchuan's nine systems; empty allows any.",
        examples=[["现代创新", "现代产业", "现代基础设施"]],
    )
    report_schedules: list[ReportSchedule] | None = Field(
        default=None,
        description="Default: weekly due Monday, unit monthly by the 3rd, project monthly by the 22nd.",
    )
    escalation_policy: EscalationPolicy | None = Field(
        default=None,
        description="Default: the ladder of docs/schedules-and-ladder.md (reminder → urging → "
        "supervision → criticism → interview → accountability).",
    )
    notice_rules: NoticeRules | None = None
    problem_rules: ProblemRules | None = None
    assessment: AssessmentRules | None = Field(
        default=None, description="how the half-year and annual grades come from the published rounds"
    )
    lights: LightRules | None = Field(default=None, description="红黄绿灯 thresholds (docs/lights.md)")
    bulletin: BulletinRules | None = Field(
        default=None, description="the monthly bulletin's scoring, groups and lists (docs/scoring.md)"
    )
    units_enter_projects: bool | None = Field(
        default=None, description="units enter the projects they answer for (default: off)"
    )

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        for c in value:
            if not c.strip() or len(c) > 64:
                raise ValueError(tr("a category is a non-empty name of at most 64 characters"))
        return _distinct(value, N_("each category may be listed once"))


class ProgramUpdate(BaseModel):
    """Only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    categories: list[str] | None = Field(default=None, max_length=50, json_schema_extra={"uniqueItems": True})
    report_schedules: list[ReportSchedule] | None = None
    escalation_policy: EscalationPolicy | None = None
    notice_rules: NoticeRules | None = None
    problem_rules: ProblemRules | None = None
    assessment: AssessmentRules | None = None
    lights: LightRules | None = None
    bulletin: BulletinRules | None = None
    units_enter_projects: bool | None = None

    _categories = field_validator("categories")(
        classmethod(lambda cls, v: v if v is None else ProgramCreate._categories(v))
    )


class ProgramPublic(BaseModel):
    id: UUID
    code: str
    name: str
    year: int
    office_unit_id: UUID
    categories: list[str]
    report_schedules: list[ReportSchedule]
    escalation_policy: EscalationPolicy
    notice_rules: NoticeRules
    problem_rules: ProblemRules
    assessment: AssessmentRules
    lights: LightRules
    bulletin: BulletinRules
    units_enter_projects: bool = Field(
        default=False,
        description="a unit enters the projects it answers for, naming as region and owner also the "
        "units above it in the program",
    )
    approved_total_investment: Cents = Field(description="万元, approved projects only")
    approved_projects: int
    version: int
    created_at: Stamp
    updated_at: Stamp | None
    closed_at: Stamp | None = Field(
        default=None, description="the office closed the program's year: read-only, nobody is chased"
    )
    closed_by: str | None = None
    closed_reason: str | None = None


class ProgramClose(BaseModel):
    """Close the program's year: after its annual assessment is published, or forced with a reason."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, min_length=1, max_length=2000)
    force: bool = Field(
        default=False, description="close before the annual assessment is published (a reason is required)"
    )


class CarryOver(BaseModel):
    """Copy the continuing projects (续建) into next year's program."""

    model_config = ConfigDict(extra="forbid")

    to_program_id: UUID


class CarriedOver(BaseModel):
    carried: int = Field(description="projects copied now, as drafts with an annual plan to fill")
    already: int = Field(description="continuing projects carried over before")
    project_ids: list[UUID] = Field(description="the copies made now")


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    indicator: str = Field(min_length=1, max_length=200, examples=["路网密度"])
    unit: str = Field(min_length=1, max_length=32, examples=["km/km²"])
    target_value: Decimal = Field(max_digits=18, decimal_places=4)
    due_date: Day
    direction: TargetDirection = Field(
        default=TargetDirection.AT_LEAST,
        description="at_least: reach the value or more; at_most: stay at or under it",
    )


class TaskCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=32, examples=["一.3"])
    title: str = Field(min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=10_000)
    lead_unit_ids: list[UUID] = Field(
        default_factory=list, max_length=50, json_schema_extra={"uniqueItems": True}
    )
    responsible_unit_ids: list[UUID] = Field(
        min_length=1, max_length=200, json_schema_extra={"uniqueItems": True}
    )
    cooperating_unit_ids: list[UUID] = Field(
        default_factory=list, max_length=200, json_schema_extra={"uniqueItems": True}
    )
    due_date: Day | None = None
    targets: list[TargetIn] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _targets_distinct(self) -> "TaskCreate":
        keys = [(t.indicator, t.due_date) for t in self.targets]
        if len(keys) != len(set(keys)):
            raise ValueError(tr("targets: one target per indicator and due date"))

        return self


class TargetProgress(BaseModel):
    id: UUID
    indicator: str
    unit: str
    target_value: Decimal
    direction: str
    due_date: date
    latest_value: Decimal | None
    latest_as_of: date | None
    expected_value: Decimal | None = Field(
        description="where a straight line from the first value would be now"
    )
    state: TargetState


class TaskPublic(BaseModel):
    id: UUID
    program_id: UUID
    number: str
    title: str
    description: str | None
    due_date: date | None
    lead_unit_ids: list[UUID]
    responsible_unit_ids: list[UUID]
    cooperating_unit_ids: list[UUID]
    as_of: date
    targets: list[TargetProgress]


class IndicatorValueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    indicator: str = Field(min_length=1, max_length=200)
    value: Decimal = Field(max_digits=18, decimal_places=4)
    as_of: Day


class IndicatorValuePublic(BaseModel):
    id: UUID
    task_id: UUID
    indicator: str
    value: Decimal
    as_of: date
    reported_by: str
    created_at: Stamp
