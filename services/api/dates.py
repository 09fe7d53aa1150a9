"""The dates and instants the api takes: within 2000–2100, the years an office can load a
working-day calendar for. No project runs outside them, and beyond them date arithmetic (a
deadline some working days on, the end of a day in Beijing time) would overflow Python's dates
and answer 500 instead of saying what is wrong."""

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from shared.i18n import N_, tr

EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
OUT_OF_RANGE = N_("must be between {earliest} and {latest}")


def out_of_range() -> str:
    return tr(OUT_OF_RANGE, earliest=EARLIEST, latest=LATEST)


Day = Annotated[date, Field(ge=EARLIEST, le=LATEST, description=f"a date from {EARLIEST} to {LATEST}")]


def within(at: datetime) -> datetime:
    if not EARLIEST <= at.date() <= LATEST:
        raise ValueError(out_of_range())

    return at


Instant = Annotated[
    datetime, AfterValidator(within), Field(description=f"an RFC 3339 instant from {EARLIEST} to {LATEST}")
]
