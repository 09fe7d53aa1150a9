"""Lights and bulletins: response bodies."""

from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

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


class Ranked(BaseModel):
    model_config = ConfigDict(extra="allow")

    unit_id: str = Field(description="the unit's (or, in a round's project ranking, the project's) id")
    name: str
    score: str | None
    rank: int | None


class Group(BaseModel):
    name: str
    ranking: list[Ranked]
    red_list: list[Ranked] = Field(description="红榜 (a round: praised)")
    black_list: list[Ranked] = Field(description="黑榜 (a round: criticised)")


class BulletinOut(BaseModel):
    """A monthly or observation bulletin; monthly ones also carry the totals and the lists."""

    model_config = ConfigDict(extra="allow")

    program_id: str
    program_name: str
    as_of: str
    version: int | None = Field(description="null: computed now, not published")
    digest: str | None
    groups: list[Group]


class Published(BaseModel):
    version: int
    digest: str
    number: str = Field(description="发文字号, e.g. 〔2018〕5号")
    published_at: Stamp


class TemplateOut(BaseModel):
    filename: str
    sha256: str
    uploaded_at: Stamp
