"""A supervision team's cadence: when each kind of visit is next due, on the working-day calendar.

A team's cadence is data (`Team.cadence`: [{kind, every_working_days}]): a visit of each kind at
most that many working days after the last one of its kind (the first one counted from the day
the team was set up, `Team.since`). As of an instant, each kind is `open` (not due yet), `due`
(within the reminder's working days of its due day, or on it) or `overdue` (its due day passed
with no visit). The api answers `GET /teams/{id}/cadence` from it and the notifier's
`visit_due` rule chases it (reminded before, urged after, as a report is): one definition.
"""

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared.calendar import WorkingCalendar
from shared.models import Team, Visit
from shared.program_settings import EscalationPolicy
from shared.vocabulary import CadenceState, NoticeKind


@dataclass(frozen=True)
class Standing:
    """Where one kind of a team's visits stands as of a day."""

    team_id: uuid.UUID
    kind: str
    every_working_days: int
    last_visit: date | None
    due: date  # the last working day the next visit may be made on
    remind_on: date  # from this day it is `due`
    state: CadenceState
    visits: int  # of this kind, by the day


def reminder_days(policy: EscalationPolicy) -> int:
    """The working days of warning before a visit's due day: the ladder's reminder's (0 without one)."""
    reminder = policy.rung(NoticeKind.REMINDER)
    return (reminder.before_working_days or 0) if reminder is not None else 0


def stand(
    *,
    team_id: uuid.UUID,
    kind: str,
    every: int,
    since: date,
    last: date | None,
    visits: int,
    today: date,
    cal: WorkingCalendar,
    before: int,
) -> Standing:
    """One kind of visit as of `today`: due `every` working days after the last visit (or after
    the team's first day), `before` working days of warning."""
    due = cal.add_working_days(last or since, every).date
    remind_on = cal.add_working_days(due, -before).date if before else due
    state = (
        CadenceState.OVERDUE if today > due else CadenceState.DUE if today >= remind_on else CadenceState.OPEN
    )
    return Standing(team_id, kind, every, last, due, remind_on, state, visits)


async def standings(
    session: AsyncSession,
    *,
    program_id: uuid.UUID,
    today: date,
    cal: WorkingCalendar,
    before: int,
    team_ids: list[uuid.UUID] | None = None,
) -> list[Standing]:
    """Each cadence kind of the program's teams (or of `team_ids`) as of `today`: one query for
    the last visit of each team and kind made by then."""
    where = [col(Team.program_id) == program_id]
    if team_ids is not None:
        where.append(col(Team.id).in_(team_ids))
    teams = list(await session.scalars(select(Team).where(*where).order_by(col(Team.name))))
    last = {
        (t, k): (day, n)
        for t, k, day, n in await session.execute(
            select(col(Visit.team_id), col(Visit.kind), func.max(col(Visit.visited_on)), func.count())
            .where(col(Visit.team_id).in_([t.id for t in teams]), col(Visit.visited_on) <= today)
            .group_by(col(Visit.team_id), col(Visit.kind))
        )
    }
    out = []
    for team in teams:
        for rule in team.cadence:
            day, n = last.get((team.id, rule["kind"]), (None, 0))
            out.append(
                stand(
                    team_id=team.id, kind=rule["kind"], every=rule["every_working_days"], since=team.since,
                    last=day, visits=n, today=today, cal=cal, before=before,
                )
            )  # fmt: skip
    return out


__all__ = ["Standing", "reminder_days", "stand", "standings"]
