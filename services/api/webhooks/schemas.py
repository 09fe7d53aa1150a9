"""Webhook request and response bodies."""

from typing import Any
from uuid import UUID

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from shared.dates import Stamp
from shared.i18n import tr
from shared.vocabulary import DeliveryState, WebhookEvent

Event = WebhookEvent


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: AnyHttpUrl = Field(examples=["https://bank.example.cn/duban/events"])
    events: list[Event] = Field(
        min_length=1,
        json_schema_extra={"uniqueItems": True},
        description="project.approved, report.instant (重要情况即时报)",
    )
    secret: str = Field(
        min_length=16, max_length=200, description="shared secret; each body is signed with HMAC-SHA256 of it"
    )

    @field_validator("events")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(value) != len(set(value)):
            raise ValueError(tr("list each event once"))
        return value


class WebhookPublic(BaseModel):
    id: UUID
    unit_id: UUID
    url: str
    events: list[str]
    is_active: bool
    created_at: Stamp


class DeliveryPublic(BaseModel):
    id: UUID
    event: str
    state: DeliveryState
    attempts: int
    next_attempt_at: Stamp | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: Stamp | None
    created_at: Stamp
    body: dict[str, Any]
