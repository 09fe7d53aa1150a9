"""Standing supervision teams: who they are, what they watch, how often they must visit."""

from datetime import date
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.dates import Day, Stamp
from shared.vocabulary import CadenceState, VisitKind

Kind = Annotated[VisitKind, Field(description="joint 联合督查, on_site 现场督查, meeting 督查例会")]


class CadenceRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    every_working_days: int = Field(
        ge=1,
        le=250,
        examples=[44],
        description="a visit of this kind at most this many working days after the last",
    )


class Covers(BaseModel):
    """What the team watches: regions (units) and actions (tasks) of its program. A unit or a
    task is watched by one team of a program at most."""

    model_config = ConfigDict(extra="forbid")

    unit_ids: list[UUID] = Field(default_factory=list, max_length=500)
    task_ids: list[UUID] = Field(default_factory=list, max_length=500)


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    program_id: UUID
    name: str = Field(min_length=1, max_length=100, examples=["第一督查组"])
    leader_user_id: UUID
    member_user_ids: list[UUID] = Field(default_factory=list, max_length=100)
    covers: Covers = Field(default_factory=Covers)
    cadence: list[CadenceRule] = Field(default_factory=list, max_length=3, description="one rule per kind")
    since: Day | None = Field(default=None, description="the cadence counts from this day; default today")


class TeamUpdate(BaseModel):
    """Only the fields sent change; `covers` and `member_user_ids` are replaced whole."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    leader_user_id: UUID | None = None
    member_user_ids: list[UUID] | None = Field(default=None, max_length=100)
    covers: Covers | None = None
    cadence: list[CadenceRule] | None = Field(default=None, max_length=3)
    since: Day | None = None


class TeamPublic(BaseModel):
    id: UUID
    program_id: UUID
    name: str
    leader_user_id: UUID
    member_user_ids: list[UUID]
    covers: Covers
    cadence: list[CadenceRule]
    since: date
    version: int
    created_at: Stamp
    updated_at: Stamp | None


class CadenceItem(BaseModel):
    kind: Kind
    every_working_days: int
    last_visit: date | None = Field(
        description="the last visit of this kind by the day asked; null: none yet"
    )
    due_date: date = Field(description="the last working day the next visit may be made on")
    remind_on: date = Field(description="from this day the visit is `due` (the ladder's reminder)")
    state: CadenceState
    visits: int = Field(description="visits of this kind by the day asked")


class CadencePublic(BaseModel):
    team_id: UUID
    as_of: date
    data: list[CadenceItem]


class TeamMonth(BaseModel):
    kind: Kind
    every_working_days: int
    visits: int = Field(description="visits of this kind made in the month")
    expected: Decimal = Field(description="the month's working days ÷ the cadence's, to one place")
    last_visit: date | None
    due_date: date
    state: CadenceState = Field(description="as of the month's last day")


class TeamSummary(BaseModel):
    team_id: UUID
    name: str
    kinds: list[TeamMonth]
    behind: bool = Field(description="a kind of visit overdue at the month's end")


class UnitFindings(BaseModel):
    unit_id: UUID
    unit_name: str
    opened: int = Field(description="findings opened in the month")
    rectified: int = Field(description="findings the office confirmed rectified in the month")
    open_at_end: int = Field(description="findings still open at the month's end")


class SupervisionSummary(BaseModel):
    """A program's month of supervision: visits against cadence, findings by unit, teams behind."""

    program_id: UUID
    month: str
    as_of: date
    visits: int
    findings_opened: int
    findings_rectified: int
    teams: list[TeamSummary]
    teams_behind: list[UUID]
    units: list[UnitFindings]
