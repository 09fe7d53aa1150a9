"""The dates and instants the api takes and program settings hold: within 2000–2100, the years an
office can load a working-day calendar for. No project runs outside them, and beyond them date
arithmetic (a deadline some working days on, the end of a day in Beijing time) would overflow
Python's dates and answer 500 instead of saying what is wrong."""

import re
from datetime import date, datetime, time
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, PlainSerializer, WithJsonSchema

from shared.clock import OFFICE_TZ, answer_zone
from shared.i18n import N_, tr

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
OUT_OF_RANGE = N_("must be between {earliest} and {latest}")


def out_of_range() -> str:
    return tr(OUT_OF_RANGE, earliest=EARLIEST, latest=LATEST)


# The range as JSON Schema can say it (it has no minimum for dates): the year 2000 to 2100.
YEARS = r"(20[0-9]{2}|2100)"
# (The 29th to 31st left out of what is declared: not every month has them.)
_DATE = rf"{YEARS}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
DAY_FORM = rf"^{_DATE}$"
INSTANT_FORM = rf"^{_DATE}[Tt ]"

Day = Annotated[
    date,
    Field(
        ge=EARLIEST,
        le=LATEST,
        description=f"a date from {EARLIEST} to {LATEST}",
        json_schema_extra={"pattern": DAY_FORM},
    ),
]


def within(at: datetime) -> datetime:
    if not EARLIEST <= at.date() <= LATEST:
        raise ValueError(out_of_range())
    return at


def answered(at: datetime) -> str:
    """An instant as the api answers it: RFC 3339 in Beijing time (+08:00), where the offices
    work, whatever offset it was sent or stored with; in the caller's `Time-Zone` when it names
    one."""
    return at.astimezone(answer_zone.get()).isoformat()


# An instant the api answers with: in +08:00, however it was stored (PostgreSQL gives UTC).
_ANSWERED = WithJsonSchema(
    {
        "type": "string",
        "format": "date-time",
        "description": "an RFC 3339 instant in Beijing time (+08:00), or the request's Time-Zone",
    },
    mode="serialization",
)
Stamp = Annotated[datetime, PlainSerializer(answered, return_type=str, when_used="json"), _ANSWERED]

Instant = Annotated[
    datetime,
    AfterValidator(within),
    PlainSerializer(answered, return_type=str, when_used="json"),
    _ANSWERED,
    Field(
        description=f"an RFC 3339 instant from {EARLIEST} to {LATEST}",
        json_schema_extra={"pattern": INSTANT_FORM},
    ),
]


def _midnight(value: object) -> object:
    """A date where an instant is asked for: the start of that day in Beijing time."""
    if isinstance(value, str) and re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", value):
        try:
            return datetime.combine(date.fromisoformat(value.strip()), time(0), OFFICE_TZ)
        except ValueError:
            return value  # not a day of the calendar: the instant's own error says so
    return value


# When something happened, as a clerk copies it off paper: an instant with its offset, or just
# the day (its start, Beijing time).
Moment = Annotated[
    AwareDatetime,
    BeforeValidator(_midnight),
    AfterValidator(within),
    PlainSerializer(answered, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time", "pattern": INSTANT_FORM},
                {"type": "string", "format": "date", "pattern": DAY_FORM},
            ],
            "description": "an RFC 3339 instant, or a date (its start in Beijing time)",
        },
        mode="validation",
    ),
    _ANSWERED,
]
# `as_of`: a date, or an instant with or without its offset (then Beijing time).
AS_OF_FORM = (
    rf"^{_DATE}"
    r"([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"([Zz]|[+-](0[0-9]|1[0-4]):[0-5][0-9])?)?$"
)
