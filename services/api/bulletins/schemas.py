"""Lights and bulletins: response bodies."""

from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, Field

from shared.dates import Stamp


class LightName(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class Dimension(StrEnum):
    START = "start"
    PROGRESS = "progress"
    REPORTS = "reports"
    PROBLEMS = "problems"
    NOTICES = "notices"


class DimensionLight(BaseModel):
    light: LightName
    detail: str = Field(description="why, in words")


class ProjectLights(BaseModel):
    project_id: UUID
    code: str
    name: str
    light: LightName = Field(description="the worst of the dimensions")
    dimensions: dict[Dimension, DimensionLight]


class LightsPage(BaseModel):
    as_of: Stamp
    count: int
    data: list[ProjectLights]
