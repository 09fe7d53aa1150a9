"""Problem ledger request and response bodies."""

from datetime import date
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.dates import Stamp
from shared.vocabulary import MeetingLevel, ProblemAction, ProblemState


class EventPublic(BaseModel):
    action: ProblemAction
    from_level: MeetingLevel | None
    to_level: MeetingLevel | None
    reason: str | None
    by: str
    at: Stamp


class ProblemPublic(BaseModel):
    id: UUID
    program_id: UUID
    project_id: UUID | None
    owner_unit_id: UUID
    title: str
    description: str | None
    needs_coordination: bool
    state: ProblemState
    meeting_level: MeetingLevel
    deadline: date
    deadline_complete: bool = Field(description="false: counted on weekends only (no calendar for that year)")
    overdue: bool
    resolution: str | None
    raised_at: Stamp
    resolved_at: Stamp | None
    events: list[EventPublic] = Field(default_factory=list)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: str = Field(min_length=1, max_length=10_000)


class ReturnIn(BaseModel):
    """Send a claimed resolution back: the problem is open again, and the unit is told why."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class ReferIn(BaseModel):
    """Take the problem to a higher meeting (提交更高层级会议研究) — not a notice's escalation."""

    model_config = ConfigDict(extra="forbid")

    to_level: MeetingLevel
    reason: str = Field(min_length=1, max_length=2000)


class ProblemSummary(BaseModel):
    program_id: UUID
    total: int
    resolved: int = Field(description="resolutions the office confirmed")
    awaiting_confirmation: int = Field(description="resolutions the units claimed, not yet reviewed")
    open: int = Field(description="not yet confirmed resolved (awaiting confirmation included)")
    overdue: int
    resolution_rate: float = Field(description="confirmed resolved ÷ total (1 when there are none)")
    target_resolution_rate: float
    on_target: bool
