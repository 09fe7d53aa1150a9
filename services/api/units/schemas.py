"""Unit request and response bodies."""

import re
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.api.units.phone import PHONE_FORM, normalize
from shared.dates import Stamp
from shared.i18n import tr
from shared.vocabulary import UnitKind


class Liaison(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(
        description="Mobile (13812341234) or landline (0379-66812345).",
        json_schema_extra={"pattern": PHONE_FORM},  # declared without the spaces it forgives
    )

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize(value)


# GB/T 2260 (six digits: province, prefecture, county) or the statistical division code's
# township (nine) or village (twelve) extension of it (统计用区划代码)
REGION_FORM = "^([0-9]{6}|[0-9]{9}|[0-9]{12})$"


def _region(value: str | None) -> str | None:
    if value is not None and not re.fullmatch(REGION_FORM, value):
        raise ValueError(
            tr(
                "expected a six-digit GB/T 2260 region code, such as 410300 for Luoyang, or a nine- or "
                "twelve-digit township or village division code, such as 410322100"
            )
        )
    return value


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)
    kind: UnitKind
    parent_id: UUID | None = Field(
        default=None, description="The unit this one sits under; by default the caller's own unit."
    )
    region_code: str | None = Field(
        default=None,
        json_schema_extra={"pattern": REGION_FORM},
        description="GB/T 2260 (410300) or a township's or village's division code (9 or 12 digits); "
        "one unit per code",
    )
    liaison: Liaison | None = None

    _check_region = field_validator("region_code")(classmethod(lambda cls, v: _region(v)))


class UnitUpdate(BaseModel):
    """Only the fields sent are changed; `liaison: null` removes the liaison."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: UnitKind | None = None
    parent_id: UUID | None = None
    region_code: str | None = Field(
        default=None,
        json_schema_extra={"pattern": REGION_FORM},
        description="GB/T 2260 (410300) or a township's or village's division code (9 or 12 digits); "
        "one unit per code",
    )
    liaison: Liaison | None = None

    _check_region = field_validator("region_code")(classmethod(lambda cls, v: _region(v)))


class LiaisonPublic(BaseModel):
    name: str | None
    phone: str | None = Field(description="Masked (138****1234) except for office admins.")


class UnitPublic(BaseModel):
    id: UUID
    code: str
    name: str
    kind: UnitKind
    parent_id: UUID | None
    region_code: str | None
    liaison: LiaisonPublic | None
    version: int
    created_at: Stamp
    updated_at: Stamp | None


class LiaisonChangePublic(BaseModel):
    name: str | None
    phone: str | None
    changed_by: str
    changed_at: Stamp
