"""The dates and instants the api takes and program settings hold: within 2000–2100, the years an
office can load a working-day calendar for. No project runs outside them, and beyond them date
arithmetic (a deadline some working days on, the end of a day in Beijing time) would overflow
Python's dates and answer 500 instead of saying what is wrong."""

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

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


Instant = Annotated[
    datetime,
    AfterValidator(within),
    Field(
        description=f"an RFC 3339 instant from {EARLIEST} to {LATEST}",
        json_schema_extra={"pattern": INSTANT_FORM},
    ),
]
# `as_of`: a date, or an instant with or without its offset (then Beijing time).
AS_OF_FORM = (
    rf"^{_DATE}"
    r"([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"([Zz]|[+-](0[0-9]|1[0-4]):[0-5][0-9])?)?$"
)
