"""Project request and response bodies."""

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from shared.dates import Day, Stamp
from shared.i18n import tr
from shared.numbers import Cents
from shared.vocabulary import ConstructionKind, ProjectStage, ProjectStatus

Stage = ProjectStage
Status = ProjectStatus
Construction = ConstructionKind
# 万元 with at most two decimals; sent and returned as a decimal string ("1234.50").
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2, examples=["1234.50"]),
    AfterValidator(lambda d: d.quantize(Decimal("0.01"))),
]
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class Leader(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["张三"])
    title: str = Field(min_length=1, max_length=100, examples=["副县长"])


class TeamMember(BaseModel):
    """A member of the project's service team (服务团队); no phone numbers are kept here."""

    model_config = ConfigDict(extra="forbid")

    role: str = Field(min_length=1, max_length=50, examples=["手续办理人员"])
    name: str = Field(min_length=1, max_length=100)
    title: str | None = Field(default=None, max_length=100)


class Location(BaseModel):
    """Where the project is (WGS 84 degrees, as phones give them): a visit's photo taken far from
    it is flagged."""

    model_config = ConfigDict(extra="forbid")

    latitude: float = Field(ge=-90, le=90, examples=[33.785])
    longitude: float = Field(ge=-180, le=180, examples=[111.601])


class MilestoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["主体完工"])
    planned_date: Day


def _months(plan: dict[str, Decimal]) -> dict[str, Decimal]:
    for month in plan:
        if not MONTH.match(month):
            raise ValueError(tr("'{month}' is not a month: use YYYY-MM, such as 2018-05", month=month))

    return dict(sorted(plan.items()))


class ProjectFields(BaseModel):
    """What a project is; shared by create, update and the Excel import."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$", examples=["LC-2018-001"])
    name: str = Field(min_length=1, max_length=200)
    category: str = Field(min_length=1, max_length=64, examples=["现代基础设施"])
    region_unit_id: UUID
    owner_unit_id: UUID
    responsible_unit_id: UUID
    leader: Leader
    service_team: list[TeamMember] = Field(default_factory=list, max_length=20)
    construction: Construction
    stage: Stage
    total_investment: Money
    annual_plan: Money
    start_date: Day
    end_date: Day
    milestones: list[MilestoneIn] = Field(default_factory=list, max_length=100)
    monthly_plan: dict[str, Money] = Field(
        default_factory=dict, description='{"YYYY-MM": amount in 万元}, months of the program year'
    )
    description: str | None = Field(default=None, max_length=10_000)
    location: Location | None = None

    _check_months = field_validator("monthly_plan")(classmethod(lambda cls, v: _months(v)))


class ProjectCreate(ProjectFields):
    program_id: UUID


class ProjectUpdate(BaseModel):
    """Only the fields sent are changed; the rules are checked on the result."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str | None = Field(default=None, min_length=1, max_length=200)
    category: str | None = Field(default=None, min_length=1, max_length=64)
    region_unit_id: UUID | None = None
    owner_unit_id: UUID | None = None
    responsible_unit_id: UUID | None = None
    leader: Leader | None = None
    service_team: list[TeamMember] | None = None
    construction: Construction | None = None
    stage: Stage | None = None
    total_investment: Money | None = None
    annual_plan: Money | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    milestones: list[MilestoneIn] | None = None
    monthly_plan: dict[str, Money] | None = None
    description: str | None = Field(default=None, max_length=10_000)
    location: Location | None = None

    _check_months = field_validator("monthly_plan")(classmethod(lambda cls, v: _months(v) if v else v))


class MilestonePublic(BaseModel):
    id: UUID
    name: str
    planned_date: date
    actual_date: date | None


class ProjectSummary(BaseModel):
    """A project as lists show it."""

    id: UUID
    program_id: UUID
    code: str
    name: str
    category: str
    region_unit_id: UUID
    owner_unit_id: UUID
    responsible_unit_id: UUID
    leader: Leader
    construction: Construction
    stage: Stage
    status: Status
    total_investment: Cents
    annual_plan: Cents
    start_date: date
    end_date: date
    version: int
    updated_at: Stamp | None
    light: Literal["green", "yellow", "red"] | None = Field(
        default=None,
        description="红黄绿灯 now, the worst of its dimensions (GET /programs/{id}/lights); "
        "approved projects only",
    )


class LatestProgress(BaseModel):
    """The project's most recent monthly report (its latest period, latest version)."""

    period: str
    version: int
    progress_percent: Cents
    investment_month: Cents
    investment_to_date: Cents
    late: bool
    submitted_at: Stamp


class ProjectPublic(ProjectSummary):
    service_team: list[TeamMember]
    milestones: list[MilestonePublic]
    monthly_plan: dict[str, Cents]
    description: str | None
    location: Location | None = None
    return_reason: str | None
    created_by: str
    created_at: Stamp
    submitted_at: Stamp | None
    approved_at: Stamp | None
    withdrawn_at: Stamp | None
    latest_progress: LatestProgress | None = Field(
        default=None, description="the latest monthly report; null until one is filed"
    )


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="what the unit must fix")


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    replacement_project_ids: list[UUID] = Field(
        default_factory=list, max_length=50, json_schema_extra={"uniqueItems": True}
    )

    @field_validator("replacement_project_ids")
    @classmethod
    def _once_each(cls, ids: list[UUID]) -> list[UUID]:
        if len(ids) != len(set(ids)):
            raise ValueError(tr("list each replacement once, and not the withdrawn project"))
        return ids


class AdjustmentPublic(BaseModel):
    id: UUID
    program_id: UUID
    withdrawn_project_id: UUID
    replacement_project_ids: list[UUID]
    reason: str
    approved_total_before: Cents
    approved_total_after: Cents
    decided_by: str
    decided_at: Stamp


class ImportError_(BaseModel):
    row: int = Field(description="spreadsheet row, 1 = the header row")
    column: str | None = Field(description="the column's header, as in the template")
    message: str


class ImportResult(BaseModel):
    created: int
    dry_run: bool
    errors: list[ImportError_]
