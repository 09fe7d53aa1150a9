"""One clock for every chain (docs/schedules-and-ladder.md, "One clock").

Each rung of a ladder (shared.program_settings.EscalationLevel) has its kind, its recipients and
the working days its recipient is given. A notice is due on the last of those working days (a
reminder on the matter's own deadline); the rung above fires on the first working day after the
notice's deadline, if the matter still stands and nothing waits for the office. Automatic
chains, the office's own notices and events (a bottom ranking, a failed assessment) all run on
it; feedback or an explanation waiting for the office holds it, a return (退办) restarts it
from a new deadline, an accepted explanation moves the deadline.

Rungs are found by kind, never by their number: a ladder may leave any rung out.
"""

from dataclasses import dataclass
from datetime import date

from shared.calendar import WorkingCalendar
from shared.program_settings import EscalationLevel, EscalationPolicy
from shared.vocabulary import NoticeKind


class NoRung(Exception):
    """The ladder a chain keeps has no rung of the kind the chain is to start on."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def notice_due(
    rung: EscalationLevel, issued_on: date, cal: WorkingCalendar, *, deadline: date, default_days: int
) -> date:
    """The day a notice of `rung` issued on `issued_on` is due: the matter's deadline for a
    reminder, else the last of the working days the rung gives (none: the program's default)."""
    if rung.kind == NoticeKind.REMINDER:
        return deadline
    days = default_days if rung.working_days is None else rung.working_days
    return cal.add_working_days(issued_on, days).date


def next_day(policy: EscalationPolicy, rung: EscalationLevel, due: date, cal: WorkingCalendar) -> date | None:
    """The day the rung above `rung` fires when `rung`'s notice is due on `due`: the first
    working day after it; None when no rung above is reached by time."""
    above = policy.above(rung)
    if above is None or not above.by_time:
        return None
    return cal.add_working_days(due, 1).date


def opening_day(policy: EscalationPolicy, deadline: date, cal: WorkingCalendar) -> date:
    """The day a deadline's chain first has a rung due: the reminder's (`before_working_days`
    before the deadline), or the first working day after the deadline."""
    after = cal.add_working_days(deadline, 1).date
    reminder = policy.rung(NoticeKind.REMINDER)
    if reminder is None or reminder.before_working_days is None:
        return after
    return min(cal.add_working_days(deadline, -reminder.before_working_days).date, after)


def first_rung(
    policy: EscalationPolicy, start: str | None, deadline: date, today: date
) -> EscalationLevel | None:
    """The rung a chain that has issued nothing issues today: its start kind's (an event's or a
    condition's chain); for a deadline's chain (no start kind), the reminder while the deadline
    has not passed, urging once it has. None: nothing is due yet. NoRung: the ladder lacks it."""
    if start is None:
        if today <= deadline:
            return policy.rung(NoticeKind.REMINDER)  # the caller asks on or after the reminder's day
        start = NoticeKind.URGING
    rung = policy.rung(start)
    if rung is None:
        raise NoRung(start)
    return rung


@dataclass(frozen=True)
class Step:
    """A rung issued on a day: its notice's deadline and the day the next rung fires."""

    rung: EscalationLevel
    due: date
    next_on: date | None


def step(
    policy: EscalationPolicy,
    rung: EscalationLevel,
    issued_on: date,
    cal: WorkingCalendar,
    *,
    deadline: date,
    default_days: int,
) -> Step:
    due = notice_due(rung, issued_on, cal, deadline=deadline, default_days=default_days)
    return Step(rung, due, next_day(policy, rung, due, cal))


__all__ = ["NoRung", "Step", "first_rung", "next_day", "notice_due", "opening_day", "step"]
