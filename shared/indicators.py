"""A project's progress indicators as of an instant — one definition for the api, notifier and ranker.

API.md "How a round is scored" §3: investment_rate = min(100, 100 × investment reported in the
year to date ÷ annual plan); milestone_rate = 100 × milestones met on time ÷ milestones due
(100 when none due); report_timeliness = 100 × reports filed on time ÷ reports due (100 when
none due). Also the rate against the monthly plan to date. Only report versions filed by the
instant count, and of each period the latest of those: a correction replaces what it corrects.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.calendar import WorkingCalendar
from shared.clock import OFFICE_TZ
from shared.dues import periods
from shared.models import Milestone, Program, Project, ProjectReport
from shared.program_settings import ProgramSettings

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
    investment_rate: Decimal
    monthly_plan_rate: Decimal
    milestone_rate: Decimal
    report_timeliness: Decimal
    progress_percent: Decimal | None
    reports_due: int
    reports_on_time: int
    milestones: list[MilestoneState] = field(default_factory=list)


def latest_versions(reports: list[ProjectReport]) -> dict[str, ProjectReport]:
    """period → the latest version among `reports`."""
    latest: dict[str, ProjectReport] = {}
    for r in sorted(reports, key=lambda r: (r.period, r.version)):
        latest[r.period] = r
    return latest


async def compute(
    session: AsyncSession, *, project: Project, program: Program, calendar: WorkingCalendar, as_of: datetime
) -> Indicators:
    settings = ProgramSettings.model_validate(program.settings)
    today = as_of.astimezone(OFFICE_TZ).date()
    filed = list(
        await session.scalars(
            select(ProjectReport).where(
                ProjectReport.project_id == project.id, ProjectReport.submitted_at <= as_of
            )
        )
    )
    latest = latest_versions(filed)
    year = f"{program.year}-"
    month_now = f"{today:%Y-%m}"
    year_to_date = sum(
        (r.investment_month for p, r in latest.items() if p.startswith(year) and p <= month_now), Decimal(0)
    )
    to_date = sum((r.investment_month for r in latest.values()), Decimal(0))
    plan_to_date = sum(
        (Decimal(v) for m, v in project.monthly_plan.items() if m.startswith(year) and m <= month_now),
        Decimal(0),
    )
    # Milestones: actual dates as the latest reports (by period) give them.
    actual: dict[str, date] = {}
    for period in sorted(latest):
        for m in latest[period].milestones:
            if m.get("actual_date"):
                actual[m["name"]] = date.fromisoformat(m["actual_date"])
    states = []
    for m in await session.scalars(
        select(Milestone).where(Milestone.project_id == project.id).order_by(Milestone.position)
    ):
        done = actual.get(m.name)
        if done is not None and done <= today:
            state = "met_on_time" if done <= m.planned_date else "met_late"
        else:
            state, done = ("missed" if m.planned_date < today else "pending"), None
        states.append(MilestoneState(m.name, m.planned_date, done, state))
    due_milestones = [s for s in states if s.planned_date < today or s.state.startswith("met")]
    on_time_milestones = sum(s.state == "met_on_time" for s in due_milestones)
    # Reports: each project monthly period of the program year, from the project's start, due by now.
    due = on_time = 0
    schedule = settings.schedule("project_monthly")
    if schedule is not None:
        first_at = {p: min(r.submitted_at for r in filed if r.period == p) for p in latest}
        for period in periods(schedule, program.year, calendar):
            if period.label < f"{project.start_date:%Y-%m}" or period.due_at > as_of:
                continue
            due += 1
            on_time += period.label in first_at and first_at[period.label] <= period.due_at
    last = latest[max(latest)] if latest else None
    return Indicators(
        project_id=project.id,
        as_of=as_of,
        investment_year_to_date=year_to_date.quantize(CENT),
        investment_to_date=to_date.quantize(CENT),
        annual_plan=project.annual_plan,
        monthly_plan_to_date=plan_to_date.quantize(CENT),
        investment_rate=rate(year_to_date, project.annual_plan),
        monthly_plan_rate=rate(year_to_date, plan_to_date),
        milestone_rate=rate(Decimal(on_time_milestones), Decimal(len(due_milestones))),
        report_timeliness=rate(Decimal(on_time), Decimal(due)),
        progress_percent=last.progress_percent if last else None,
        reports_due=due,
        reports_on_time=on_time,
        milestones=states,
    )
