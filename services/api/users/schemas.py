"""People and system clients."""

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from shared.dates import Stamp
from shared.i18n import tr
from shared.vocabulary import Duty, Role

MOBILE = r"^1[3-9][0-9]{9}$"

Scope = Literal[
    "units:read",
    "units:write",
    "audit:read",
    "programs:read",
    "tasks:report",
    "projects:read",
    "projects:write",
    "webhooks:manage",
    "calendar:read",
    "reports:read",
    "reports:write",
]


def _distinct(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError(tr("each value may be named once"))
    return values


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(
        description="At least 10 characters, letters and digits, not containing the username."
    )
    display_name: str = Field(min_length=1, max_length=100)
    unit_id: UUID
    roles: list[Role] = Field(min_length=1, json_schema_extra={"uniqueItems": True})
    email: EmailStr | None = Field(default=None, max_length=254, description="where e-mailed notices go")
    mobile: str | None = Field(
        default=None, pattern=MOBILE, description="a mobile number such as 13812341234, for SMS notices"
    )
    duties: list[Duty] = Field(
        default_factory=list,
        json_schema_extra={"uniqueItems": True},
        description="who the person is in their unit, for the notices that reach people: liaison "
        "(every notice), unit_head (supervision), unit_principal (interview summons)",
    )

    _roles = field_validator("roles")(classmethod(lambda cls, v: _distinct(v)))
    _duties = field_validator("duties")(classmethod(lambda cls, v: _distinct(v)))

    @field_validator("username")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class UserUpdate(BaseModel):
    """Only the fields sent change. Deactivating a person refuses their tokens at once."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    unit_id: UUID | None = None
    roles: list[Role] | None = Field(default=None, min_length=1, json_schema_extra={"uniqueItems": True})
    is_active: bool | None = None
    email: EmailStr | None = Field(default=None, max_length=254, description="null removes it")
    mobile: str | None = Field(default=None, pattern=MOBILE, description="null removes it")
    duties: list[Duty] | None = Field(default=None, json_schema_extra={"uniqueItems": True})

    _roles = field_validator("roles")(classmethod(lambda cls, v: v if v is None else _distinct(v)))
    _duties = field_validator("duties")(classmethod(lambda cls, v: v if v is None else _distinct(v)))


class OneTimePassword(BaseModel):
    one_time_password: str = Field(description="give it to the person: they change it at their first sign-in")


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(
        description="At least 10 characters, letters and digits, not containing the username."
    )


class UserPublic(BaseModel):
    id: UUID
    username: str
    display_name: str
    unit_id: UUID
    roles: list[Role]
    is_active: bool
    created_at: Stamp
    must_change_password: bool = False
    version: int = 1
    email: str | None = None
    mobile: str | None = Field(default=None, description="masked (138****1234) but to its owner")
    duties: list[Duty] = Field(default_factory=list)


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    unit_id: UUID
    scopes: list[Scope] = Field(min_length=1, json_schema_extra={"uniqueItems": True})

    _scopes = field_validator("scopes")(classmethod(lambda cls, v: _distinct(v)))


class ClientPublic(BaseModel):
    id: UUID
    client_id: str
    name: str
    unit_id: UUID
    scopes: list[Scope]
    is_active: bool
    created_at: Stamp
    rotated_at: Stamp | None


class ClientWithSecret(ClientPublic):
    client_secret: str = Field(description="Shown once: store it now; only a hash is kept.")
