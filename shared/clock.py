"""The one clock domain code reads. Tests and `--as-of` replays swap it for a fixed one."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

# Deadlines and report periods are days in China's time zone.
OFFICE_TZ = ZoneInfo("Asia/Shanghai")
# The zone the api answers instants in: Beijing time unless the caller's `Time-Zone` header
# names another (services/api/middleware.py).
answer_zone: ContextVar[tzinfo] = ContextVar("answer_zone", default=OFFICE_TZ)


class Clock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock(Clock):
    """A clock that shows a set instant until moved."""

    def __init__(self, at: datetime) -> None:
        self.set(at)

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a fixed clock needs a timezone-aware instant")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at


_current: ContextVar[Clock] = ContextVar("duban_clock", default=Clock())  # noqa: B039


def now() -> datetime:
    """The current instant, timezone-aware UTC, from the clock in force."""
    return _current.get().now()


def today() -> date:
    """Today's date in Asia/Shanghai, where the offices work."""
    return now().astimezone(OFFICE_TZ).date()


@contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Run a block with another clock (tests, replays as of an instant)."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)
