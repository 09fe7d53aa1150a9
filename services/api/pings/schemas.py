"""Request and response bodies of the ping endpoints."""

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.dates import Stamp
from shared.i18n import tr
from shared.queues import Target


class PingCreate(BaseModel):
    """Send a ping to one or both workers."""

    model_config = ConfigDict(extra="forbid")

    targets: list[Target] = Field(
        default_factory=lambda: [Target.NOTIFIER, Target.RANKER],
        min_length=1,
        json_schema_extra={"uniqueItems": True},
        description="Workers that should receive the ping.",
    )
    delay_seconds: float = Field(
        default=0,
        ge=0,
        le=30,
        strict=True,  # a number: false is not 0
        description="How long each worker holds the ping before recording it.",
    )

    @field_validator("targets")
    @classmethod
    def _distinct(cls, value: list[Target]) -> list[Target]:
        if len(set(value)) != len(value):
            raise ValueError(tr("each worker may be named once"))
        return value


class PingAccepted(BaseModel):
    id: UUID


class PingReceipt(BaseModel):
    service: Target
    received_at: Stamp
    job_try: int


class PingPublic(BaseModel):
    id: UUID
    targets: list[Target]
    delay_seconds: float
    created_at: Stamp
    receipts: list[PingReceipt]
    complete: bool = Field(description="Every target has recorded the ping.")
