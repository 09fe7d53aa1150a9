"""A project's progress indicators as of an instant — one definition for the api, notifier and ranker.

docs/scoring.md "Indicators": investment_rate = min(100, 100 × investment reported in the
year to date ÷ annual plan), not applicable (None) without an annual plan; milestone_rate =
100 × milestones met on time ÷ milestones due
(100 when none due); report_timeliness = 100 × reports filed on time ÷ reports due (100 when
none due). Also the rate against the monthly plan to date. Only report versions filed by the
instant count, and of each period the latest of those: a correction replaces what it corrects;
a milestone counts from its own actual date, whenever the report saying so was filed.
The facts come from shared.report_facts; many projects cost one statement (the ranker's case).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared import report_facts as facts
from shared.calendar import WorkingCalendar
from shared.clock import OFFICE_TZ
from shared.dues import periods
from shared.models import Program, Project, ProjectReport
from shared.program_settings import ProgramSettings
from shared.vocabulary import MilestoneState as MilestoneWord
from shared.vocabulary import ScheduleKind

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def rate(part: Decimal, whole: Decimal) -> Decimal:
    """100 × part ÷ whole, capped at 100, two decimals half up; 100 when nothing was asked."""
    if whole <= 0:
        return HUNDRED
    return min(HUNDRED, HUNDRED * part / whole).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class MilestoneState:
    name: str
    planned_date: date
    actual_date: date | None
    state: str  # met_on_time | met_late | missed | pending


@dataclass
class Indicators:
    project_id: uuid.UUID
    as_of: datetime
    investment_year_to_date: Decimal
    investment_to_date: Decimal
    annual_plan: Decimal
    monthly_plan_to_date: Decimal
    investment_rate: Decimal | None  # None: no annual plan to measure against (not applicable)
    monthly_plan_rate: Decimal
    milestone_rate: Decimal
    report_timeliness: Decimal
    progress_percent: Decimal | None
    reports_due: int
    reports_on_time: int
    milestones: list[MilestoneState] = field(default_factory=list)


async def compute_many(
    session: AsyncSession,
    *,
    program: Program,
    calendar: WorkingCalendar,
    as_of: datetime,
    project_ids: Sequence[uuid.UUID],
) -> dict[uuid.UUID, Indicators]:
    """The indicators of many projects of one program as of an instant, in one statement
    (shared.report_facts), keyed by project id; ids that are not projects are left out."""
    if not project_ids:
        return {}
    settings = ProgramSettings.model_validate(program.settings)
    today = as_of.astimezone(OFFICE_TZ).date()
    month = f"{today:%Y-%m}"
    ids = list(project_ids)
    latest = facts.latest_versions(col(ProjectReport.project_id).in_(ids), as_of=as_of).subquery("latest")
    money = facts.investment(latest, year=program.year, month=month).subquery("money")
    # A milestone counts from its own actual date, whenever the report that says so was filed.
    everything = facts.latest_versions(col(ProjectReport.project_id).in_(ids)).subquery("everything")
    states = facts.milestone_states(ids, everything, today).subquery("states")
    met = states.c.state.in_((MilestoneWord.MET_ON_TIME, MilestoneWord.MET_LATE))
    milestones = (
        select(
            states.c.project_id,
            func.count().filter(or_(states.c.planned_date < today, met)).label("due"),
            func.count().filter(states.c.state == MilestoneWord.MET_ON_TIME).label("on_time"),
            func.json_agg(
                aggregate_order_by(
                    func.json_build_array(
                        states.c.name, states.c.planned_date, states.c.actual_date, states.c.state
                    ),
                    states.c.position,
                    states.c.name,
                )
            ).label("listed"),
        )
        .group_by(states.c.project_id)
        .subquery("milestones")
    )
    schedule = settings.schedule(ScheduleKind.PROJECT_MONTHLY)
    owed = [
        (p.kind, p.label, p.start, p.end, p.due_at, p.due_complete)
        for p in (periods(schedule, program.year, calendar) if schedule is not None else [])
        if p.due_at <= as_of
    ]
    table = facts.periods_table(owed)
    columns: list[Any] = [
        col(Project.id),
        col(Project.annual_plan),
        facts.plan_to(Project, year=program.year, month=month).label("plan_to_date"),
        money.c.to_date,
        money.c.year_to_date,
        money.c.progress_percent,
        milestones.c.due.label("milestones_due"),
        milestones.c.on_time.label("milestones_on_time"),
        milestones.c.listed.label("milestones"),
    ]
    stmt = (
        select(*columns)
        .select_from(Project)
        .outerjoin(money, money.c.project_id == col(Project.id))
        .outerjoin(milestones, milestones.c.project_id == col(Project.id))
        .where(col(Project.id).in_(ids))
    )
    if table is not None:
        reports = facts.reports_on_time(ids, table, as_of).subquery("reports")
        stmt = stmt.add_columns(
            reports.c.due.label("reports_due"), reports.c.on_time.label("reports_on_time")
        ).outerjoin(reports, reports.c.project_id == col(Project.id))
    out: dict[uuid.UUID, Indicators] = {}
    for row in (await session.execute(stmt)).mappings():
        year_to_date = Decimal(row["year_to_date"] or 0)
        plan_to_date = Decimal(row["plan_to_date"] or 0)
        due, on_time = row.get("reports_due") or 0, row.get("reports_on_time") or 0
        out[row["id"]] = Indicators(
            project_id=row["id"],
            as_of=as_of,
            investment_year_to_date=year_to_date.quantize(CENT),
            investment_to_date=Decimal(row["to_date"] or 0).quantize(CENT),
            annual_plan=row["annual_plan"],
            monthly_plan_to_date=plan_to_date.quantize(CENT),
            investment_rate=rate(year_to_date, row["annual_plan"]) if row["annual_plan"] > 0 else None,
            monthly_plan_rate=rate(year_to_date, plan_to_date),
            milestone_rate=rate(Decimal(row["milestones_on_time"] or 0), Decimal(row["milestones_due"] or 0)),
            report_timeliness=rate(Decimal(on_time), Decimal(due)),
            progress_percent=row["progress_percent"],
            reports_due=due,
            reports_on_time=on_time,
            milestones=[
                MilestoneState(
                    name, date.fromisoformat(planned), date.fromisoformat(actual) if actual else None, state
                )
                for name, planned, actual, state in row["milestones"] or []
            ],
        )
    return out


async def compute(
    session: AsyncSession, *, project: Project, program: Program, calendar: WorkingCalendar, as_of: datetime
) -> Indicators:
    """One project's indicators (see `compute_many`)."""
    found = await compute_many(
        session, program=program, calendar=calendar, as_of=as_of, project_ids=[project.id]
    )
    return found[project.id]
