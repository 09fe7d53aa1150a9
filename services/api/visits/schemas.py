"""Supervision visits, their findings and the evidence phones send."""

from datetime import date
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.api.teams.schemas import Kind
from shared.dates import Day, Stamp
from shared.vocabulary import FindingState, Severity

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]


class FindingIn(BaseModel):
    """What must be put right, by whom, on which project or task (one of the two), within how
    many working days."""

    model_config = ConfigDict(extra="forbid")

    unit_id: UUID = Field(description="the unit that must put it right: the notice goes to it")
    project_id: UUID | None = None
    task_id: UUID | None = None
    severity: Severity = Field(
        description="critical: a supervision notice (督办); else an urging notice (催办)"
    )
    requirement: str = Field(min_length=1, max_length=2000, examples=["施工现场扬尘治理不到位，限期整改"])
    due_in_working_days: int = Field(ge=1, le=120, examples=[10])


class VisitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team_id: UUID
    kind: Kind
    date: Day = Field(description="the day of the visit (not after today)")
    places: list[Name] = Field(default_factory=list, max_length=50, examples=[["栾川县城关镇"]])
    project_ids: list[UUID] = Field(default_factory=list, max_length=200, description="projects seen")
    participants: list[Name] = Field(default_factory=list, max_length=50, examples=[["张三", "李四"]])
    note: str | None = Field(default=None, max_length=10_000)
    findings: list[FindingIn] = Field(default_factory=list, max_length=50)


class FindingPublic(BaseModel):
    id: UUID
    visit_id: UUID
    unit_id: UUID
    project_id: UUID | None
    task_id: UUID | None
    severity: Severity
    requirement: str
    due_date: date
    notice_id: UUID = Field(description="the notice the notifier issues for it (GET /notices/{id})")
    state: FindingState
    opened_at: Stamp
    rectified_at: Stamp | None
    confirmed_by: str | None


class FilePublic(BaseModel):
    id: UUID
    visit_id: UUID
    finding_id: UUID | None
    sha256: str = Field(description="of the bytes as sent")
    media_type: str = Field(
        description="judged from the bytes: image/jpeg, image/png, image/heic, application/pdf"
    )
    size: int
    filename: str | None
    captured_at: Stamp | None = Field(description="when the phone took it (as sent, else the photo's EXIF)")
    latitude: Decimal | None
    longitude: Decimal | None
    accuracy_m: Decimal | None
    distance_m: Decimal | None = Field(description="from the project's location, when both are known")
    far: bool = Field(
        description="taken further from the project than the set distance: flagged, not refused"
    )
    received_at: Stamp


class VisitPublic(BaseModel):
    id: UUID
    program_id: UUID
    team_id: UUID
    kind: Kind
    date: date
    places: list[str]
    project_ids: list[UUID]
    participants: list[str]
    note: str | None
    created_by: str
    created_at: Stamp
    findings: list[FindingPublic]
    files: list[FilePublic]
