"""What filed reports say, defined once, as SQL the dues, the indicators, the public list and the
project detail compose (and the notifier and ranker will): each is a SELECT over many projects.

- **latest versions**: of each (project, period), the latest version filed by an instant — a
  correction replaces what it corrects;
- **first filed**: when a period was first filed — its version 1 (a version is never stamped
  before the one it follows: migration 20261124_0009 for project reports; a unit report's stamp is
  read after its unit's row lock), so no later version holds an earlier stamp;
- **investment**: to date (every period's latest version), in a year up to a month, and the
  progress of the latest period;
- **milestones**: each milestone's actual date as the latest reports give it (a later period's
  report overrides an earlier one's), and whether it was met on time, late, missed or is pending
  on a day — counted from its own actual date, whenever the report saying so was filed;
- **reports due and filed on time**: a project owes the periods that end on or after its start
  (`owes`), and filed one on time when its first filing came by the deadline.

The filing function (services/api/reports/file_project_report.sql) sums the investment to date
itself, inside its row lock, the same way as `investment` here; tests/api/test_report_facts.py
ties the two.
"""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Numeric,
    String,
    and_,
    case,
    column,
    func,
    literal,
    select,
    values,
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by, distinct_on
from sqlalchemy.orm import aliased
from sqlmodel import col

from shared.db import AnySelect
from shared.models import Milestone, Project, ProjectReport, UnitReport
from shared.vocabulary import MilestoneState


def latest_versions(*where: Any, as_of: datetime | None = None) -> AnySelect:
    """Of each (project, period) among the reports matching `where`, the latest version filed by
    `as_of` (every version when None), ordered by project and period."""
    stmt: AnySelect = select(ProjectReport).where(*where)
    if as_of is not None:
        stmt = stmt.where(col(ProjectReport.submitted_at) <= as_of)
    return stmt.ext(distinct_on(col(ProjectReport.project_id), col(ProjectReport.period))).order_by(
        col(ProjectReport.project_id), col(ProjectReport.period), col(ProjectReport.version).desc()
    )


def latest_report(*where: Any, as_of: datetime | None = None) -> AnySelect:
    """Each project's most recent report: its latest period, in that period's latest version."""
    latest = aliased(ProjectReport, latest_versions(*where, as_of=as_of).subquery("latest"))
    return (
        select(latest)
        .ext(distinct_on(col(latest.project_id)))
        .order_by(col(latest.project_id), col(latest.period).desc())
    )


def first_filed(*where: Any, as_of: datetime | None = None) -> AnySelect:
    """(project_id, period, first_at): when each period was first filed, as known at `as_of`."""
    stmt: AnySelect = select(
        col(ProjectReport.project_id),
        col(ProjectReport.period),
        col(ProjectReport.submitted_at).label("first_at"),
    ).where(col(ProjectReport.version) == 1, *where)
    if as_of is not None:
        stmt = stmt.where(col(ProjectReport.submitted_at) <= as_of)
    return stmt


def unit_first_filed(kind: str, as_of: datetime) -> AnySelect:
    """(unit_id, period, first_at): when each unit first filed each period of a unit report kind."""
    return select(
        col(UnitReport.unit_id), col(UnitReport.period), col(UnitReport.submitted_at).label("first_at")
    ).where(col(UnitReport.kind) == kind, col(UnitReport.version) == 1, col(UnitReport.submitted_at) <= as_of)


def owes(project: Any, periods: Any) -> Any:
    """A project owes the periods of its life: those that end on or after the day it starts and
    begin on or before the day it ends (the months from its start month to its end month). One
    definition for the dues, the indicators and so the ranker; filing refuses the others."""
    return and_(project.start_date <= periods.c.ends, project.end_date >= periods.c.starts)


def periods_table(rows: Sequence[tuple[str, str, date, date, datetime, bool]]) -> Any:
    """Periods as an inline table (kind, period, starts, ends, due_at, complete), one row each as
    shared.dues.Period gives them; None when there are none (no placeholder row: a subject joined
    to every period would match it)."""
    if not rows:
        return None
    return values(
        column("kind", String()),
        column("period", String()),
        column("starts", Date()),
        column("ends", Date()),
        column("due_at", DateTime(timezone=True)),
        column("complete", Boolean()),
        name="periods",
    ).data(list(rows))


def investment(latest: Any, *, year: int, month: str) -> AnySelect:
    """Per project of a `latest_versions` subquery: investment to date (every period), in `year`
    up to `month` (YYYY-MM), and the progress of the latest period."""
    in_year = and_(latest.c.period.startswith(f"{year}-"), latest.c.period <= month)
    return select(
        latest.c.project_id,
        func.coalesce(func.sum(latest.c.investment_month), 0).label("to_date"),
        func.coalesce(func.sum(latest.c.investment_month).filter(in_year), 0).label("year_to_date"),
        func.array_agg(aggregate_order_by(latest.c.progress_percent, latest.c.period.desc()))[1].label(
            "progress_percent"
        ),
    ).group_by(latest.c.project_id)


def milestone_actuals(latest: Any) -> AnySelect:
    """(project_id, name, actual_date): each milestone's actual date as the latest reports give it,
    a later period's report overriding an earlier one's."""
    item = func.jsonb_array_elements(latest.c.milestones).table_valued(column("value", JSONB)).alias("item")
    name = item.c.value["name"].astext
    actual = item.c.value["actual_date"].astext
    return (
        select(latest.c.project_id, name.label("name"), func.cast(actual, Date).label("actual_date"))
        .select_from(latest.join(item, literal(True)))
        .where(actual.is_not(None))
        .ext(distinct_on(latest.c.project_id, name))
        .order_by(latest.c.project_id, name, latest.c.period.desc())
    )


def milestone_states(project_ids: Any, latest: Any, today: date) -> AnySelect:
    """Every milestone of the projects with its state on `today`: met_on_time, met_late (the
    actual date reported is on or before today), missed (planned before today, not met), pending."""
    actuals = milestone_actuals(latest).subquery("actuals")
    done = case((actuals.c.actual_date <= today, actuals.c.actual_date))
    state = case(
        (done <= col(Milestone.planned_date), str(MilestoneState.MET_ON_TIME)),
        (done.is_not(None), str(MilestoneState.MET_LATE)),
        (col(Milestone.planned_date) < today, str(MilestoneState.MISSED)),
        else_=str(MilestoneState.PENDING),
    )
    return (
        select(
            col(Milestone.project_id),
            col(Milestone.name),
            col(Milestone.planned_date),
            col(Milestone.position),
            done.label("actual_date"),
            state.label("state"),
        )
        .select_from(Milestone)
        .outerjoin(
            actuals,
            and_(actuals.c.project_id == col(Milestone.project_id), actuals.c.name == col(Milestone.name)),
        )
        .where(col(Milestone.project_id).in_(project_ids))
    )


def reports_on_time(project_ids: Any, periods: Any, as_of: datetime) -> AnySelect:
    """Per project: the project monthly periods due by now that it owes, and how many of them it
    first filed by the deadline. `periods`: a `periods_table` of those whose deadline has passed."""
    first = first_filed(col(ProjectReport.project_id).in_(project_ids), as_of=as_of).subquery("first")
    return (
        select(
            col(Project.id).label("project_id"),
            func.count().label("due"),
            func.count().filter(first.c.first_at <= periods.c.due_at).label("on_time"),
        )
        .select_from(Project)
        .join(periods, owes(Project, periods))
        .outerjoin(first, and_(first.c.project_id == col(Project.id), first.c.period == periods.c.period))
        .where(col(Project.id).in_(project_ids))
        .group_by(col(Project.id))
    )


def plan_to(project: Any, *, year: int, month: str) -> Any:
    """The monthly plan summed over `year` up to `month` (a correlated scalar)."""
    plan = func.jsonb_each_text(project.monthly_plan).table_valued("key", "value").alias("plan")
    return (
        select(func.coalesce(func.sum(func.cast(plan.c.value, Numeric(16, 2))), 0))
        .select_from(plan)
        .where(plan.c.key.startswith(f"{year}-"), plan.c.key <= month)
        .scalar_subquery()
    )


__all__ = [
    "first_filed",
    "investment",
    "latest_report",
    "latest_versions",
    "milestone_actuals",
    "milestone_states",
    "owes",
    "periods_table",
    "plan_to",
    "reports_on_time",
    "unit_first_filed",
]
