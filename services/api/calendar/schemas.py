"""Request and response bodies of the calendar endpoints."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.dates import Day
from shared.i18n import tr


class YearIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    holidays: list[Day] = Field(
        max_length=100, description="public holidays (法定节假日), weekends included or not"
    )
    workdays: list[Day] = Field(
        default_factory=list, max_length=30, description="weekend days that are working days (调休上班)"
    )

    @model_validator(mode="after")
    def _disjoint(self) -> "YearIn":
        if set(self.holidays) & set(self.workdays):
            raise ValueError(tr("a day cannot be both a holiday and a working day"))
        return self


class YearPublic(BaseModel):
    year: int
    holidays: list[date]
    workdays: list[date]
    source: str = Field(description="chinese-calendar (seeded) or office (loaded through the API)")


class WorkingDay(BaseModel):
    date: date
    complete: bool = Field(description="false: a year without calendar data was counted on weekends only")
