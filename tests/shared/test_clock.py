from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared import clock


def test_fixed_clock_replaces_wall_time_inside_the_block() -> None:
    at = datetime(2018, 10, 1, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    with clock.use_clock(clock.FixedClock(at)) as fixed:
        assert clock.now() == at
        assert clock.now().tzinfo == UTC
        fixed.set(at + timedelta(days=1))
        assert clock.now() - at == timedelta(days=1)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_fixed_clock_needs_a_timezone() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.FixedClock(datetime(2018, 10, 1))
