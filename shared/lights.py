"""Project lights (红黄绿灯) as of any instant: one SQL definition the lights endpoint, the project
rows, the monthly bulletin, the office pages and the notifier all read (docs/lights.md).

Five dimensions, each green, yellow or red, thresholds in the program's `lights` settings:

- **start**: a project has started when it is a continuing one (续建) or once a filed report (the
  latest version of a period, as known at the instant) shows investment or progress; its month is
  that report's period. Not started this many months after the planned start month: yellow, then
  red; started late: yellow.
- **progress** against 序时进度: this year's investment to the last month ended (of the program
  year) ÷ the annual plan, against that month ÷ 12; the points behind decide. A project not due to
  start by that month, or with no annual plan, is green.
- **reports**: its overdue reports (shared.dues: a deadline passed, nothing filed).
- **problems**: its problems open past their deadline at the instant.
- **notices**: the highest rung of its chains standing at the instant.

The light is the worst of the five.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import IntEnum
from typing import Any

from sqlalchemy import Integer, Numeric, Uuid, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared import calendar as calendars
from shared import dues
from shared import report_facts as facts
from shared.clock import OFFICE_TZ
from shared.db import AnySelect
from shared.i18n import tr, word
from shared.models import Notice, NoticeChain, Problem, Program, Project, ProjectReport
from shared.program_settings import ProgramSettings
from shared.ranking import cents
from shared.vocabulary import NoticeKind, ProjectStatus

DIMENSIONS = ("start", "progress", "reports", "problems", "notices")
LADDER: list[NoticeKind] = [k for k in NoticeKind if k != NoticeKind.PRAISE]  # lowest first


class Light(IntEnum):
    GREEN = 0
    YELLOW = 1
    RED = 2

    @property
    def label(self) -> str:
        return self.name.lower()


def month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def month_label(index: int) -> str:
    return f"{index // 12}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class Basis:
    """What an instant means for a program's lights: its day, and the months of the program year
    ended by then (序时进度 = months ÷ 12)."""

    as_of: datetime
    day: date
    months: int  # 0..12
    year: int

    @property
    def month(self) -> str | None:
        """YYYY-MM of the last month of the program year ended by the day."""
        return None if self.months == 0 else f"{self.year}-{self.months:02d}"

    @property
    def schedule_percent(self) -> Decimal:
        return cents(Decimal(self.months) * 100 / 12)


def basis(program: Program, as_of: datetime, months: int | None = None) -> Basis:
    """`months`: the months of the year the figures run to (a monthly bulletin's month), else
    those ended by the day."""
    day = as_of.astimezone(OFFICE_TZ).date()
    ended = month_index(day) - month_index(date(program.year, 1, 1))  # whole months before the day's
    months = max(0, min(12, ended if months is None else months))
    return Basis(as_of=as_of, day=day, months=months, year=program.year)


def _month_of(period: Any) -> Any:
    """A `YYYY-MM` period's month index, in SQL."""
    return (
        func.cast(func.substr(period, 1, 4), Integer) * 12 + func.cast(func.substr(period, 6, 2), Integer) - 1
    )


def _kind_rank(kind: Any) -> Any:
    return case(*((kind == k.value, i) for i, k in enumerate(LADDER)), else_=-1)


def standing_chains(program: Program, as_of: datetime) -> AnySelect:
    """The program's chains standing at `as_of` (opened, not yet closed): subject, recipient, and
    `rank`, the highest rung issued by then (its index in LADDER)."""
    return (
        select(
            col(NoticeChain.id).label("chain_id"),
            col(NoticeChain.subject_type),
            col(NoticeChain.subject_id),
            col(NoticeChain.recipient_unit_id),
            func.max(_kind_rank(col(Notice.kind))).label("rank"),
        )
        .join(Notice, col(Notice.chain_id) == col(NoticeChain.id))
        .where(
            col(NoticeChain.program_id) == program.id,
            col(Notice.kind) != NoticeKind.PRAISE,
            col(Notice.issued_at) <= as_of,
            col(NoticeChain.opened_at) <= as_of,
            or_(col(NoticeChain.closed_at).is_(None), col(NoticeChain.closed_at) > as_of),
        )
        .group_by(col(NoticeChain.id))
    )


def facts_query(
    program: Program,
    settings: ProgramSettings,
    calendar: calendars.WorkingCalendar,
    as_of: datetime,
    *,
    where: Any = True,
    months: int | None = None,
) -> AnySelect:
    """Per approved project of the program matching `where`: its figures and its five lights
    (0 green, 1 yellow, 2 red) and the worst of them, `light`."""
    rules = settings.lights
    at = basis(program, as_of, months)
    projects = (
        select(Project)
        .where(col(Project.program_id) == program.id, col(Project.status) == ProjectStatus.APPROVED, where)
        .subquery("p")
    )
    # each period's latest version: the month a project started and this year's investment to the
    # month, in one pass (the program's reports; the join below keeps the projects asked for)
    latest = facts.latest_versions(col(ProjectReport.program_id) == program.id, as_of=as_of).subquery(
        "latest"
    )
    moved = or_(latest.c.investment_month > 0, latest.c.progress_percent > 0)
    in_year = and_(
        latest.c.period.startswith(f"{program.year}-"), latest.c.period <= (at.month or f"{program.year}-00")
    )
    money = (
        select(
            latest.c.project_id,
            func.min(_month_of(latest.c.period)).filter(moved).label("started"),
            func.sum(latest.c.investment_month).label("to_date"),
            func.sum(latest.c.investment_month).filter(in_year).label("year_to_date"),
        )
        .group_by(latest.c.project_id)
        .subquery("money")
    )
    overdue_q = dues.dues_query(
        program,
        settings,
        calendar,
        as_of,
        visible_projects=where,
        visible_units=[],
        filters=dues.DueFilters(),
    )
    if overdue_q is not None:
        owed = overdue_q.subquery("owed")
        overdue = (
            select(owed.c.subject_id.label("project_id"), func.count().label("n"))
            .where(owed.c.subject_type == "project", owed.c.state == "overdue")
            .group_by(owed.c.subject_id)
            .subquery("overdue")
        )
    else:
        overdue = (
            select(literal(None, Uuid()).label("project_id"), literal(0).label("n"))
            .where(literal(False))
            .subquery("overdue")
        )
    late_problems = (
        select(col(Problem.project_id), func.count().label("n"))
        .where(
            col(Problem.program_id) == program.id,
            col(Problem.raised_at) <= as_of,
            col(Problem.deadline) < at.day,
            or_(col(Problem.resolved_at).is_(None), col(Problem.resolved_at) > as_of),
        )
        .group_by(col(Problem.project_id))
        .subquery("late_problems")
    )
    chains = standing_chains(program, as_of).subquery("chains")
    standing = (
        select(chains.c.subject_id.label("project_id"), func.max(chains.c.rank).label("rank"))
        .where(chains.c.subject_type == "project")
        .group_by(chains.c.subject_id)
        .subquery("standing")
    )

    now_month = month_index(at.day)
    planned = _month_of(func.to_char(projects.c.start_date, "YYYY-MM"))
    continuing = projects.c.construction == "continuing"
    started_month = case((continuing, planned), else_=money.c.started)
    late_by = literal(now_month) - planned
    start = case(
        (
            started_month.is_not(None),
            case((started_month - planned >= rules.start_yellow_months, 1), else_=0),
        ),
        (late_by >= rules.start_red_months, 2),
        (late_by >= rules.start_yellow_months, 1),
        else_=0,
    )
    year_to_date = func.coalesce(money.c.year_to_date, 0)
    completion = func.round(
        func.cast(year_to_date * 100, Numeric) / func.nullif(projects.c.annual_plan, 0), 2
    )
    behind = literal(at.schedule_percent) - completion
    last_month = month_index(date(program.year, 1, 1)) + at.months - 1
    due_to_move = and_(literal(at.months) > 0, projects.c.annual_plan > 0, planned <= last_month)
    progress = case(
        (~due_to_move, 0),
        (behind > rules.progress_red_points, 2),
        (behind >= rules.progress_yellow_points, 1),
        else_=0,
    )
    n_overdue = func.coalesce(overdue.c.n, 0)
    reports = case((n_overdue >= rules.reports_red, 2), (n_overdue >= rules.reports_yellow, 1), else_=0)
    n_problems = func.coalesce(late_problems.c.n, 0)
    problems = case((n_problems >= rules.problems_red, 2), else_=0)
    rank = func.coalesce(standing.c.rank, -1)
    notices = case((rank >= LADDER.index(NoticeKind(rules.notices_red_from)), 2), else_=0)
    return (
        select(
            projects.c.id.label("project_id"),
            projects.c.code,
            projects.c.name,
            projects.c.category,
            projects.c.region_unit_id,
            projects.c.responsible_unit_id,
            projects.c.construction,
            projects.c.annual_plan,
            projects.c.start_date,
            started_month.label("started_month"),
            year_to_date.label("year_to_date"),
            func.coalesce(money.c.to_date, 0).label("to_date"),
            completion.label("completion_percent"),
            (due_to_move & (behind.is_not(None))).label("measured"),
            n_overdue.label("overdue_reports"),
            n_problems.label("late_problems"),
            rank.label("notice_rank"),
            start.label("start"),
            progress.label("progress"),
            reports.label("reports"),
            problems.label("problems"),
            notices.label("notices"),
            func.greatest(start, progress, reports, problems, notices).label("light"),
        )
        .select_from(projects)
        .outerjoin(money, money.c.project_id == projects.c.id)
        .outerjoin(overdue, overdue.c.project_id == projects.c.id)
        .outerjoin(late_problems, late_problems.c.project_id == projects.c.id)
        .outerjoin(standing, standing.c.project_id == projects.c.id)
    )


async def load_calendar(session: AsyncSession, program: Program) -> calendars.WorkingCalendar:
    return await calendars.load(session, [program.year, program.year + 1])


def _dimensions(row: Any, at: Basis) -> dict[str, dict[str, str]]:
    planned = month_index(row.start_date)
    if row.started_month is not None:
        late = row.started_month - planned
        start = (
            tr("started in {month}, {n} months late", month=month_label(row.started_month), n=late)
            if late > 0
            else tr("started in {month}", month=month_label(row.started_month))
        )
    elif month_index(at.day) > planned:
        start = tr(
            "not started, {n} months after the planned start ({month})",
            n=month_index(at.day) - planned,
            month=month_label(planned),
        )
    else:
        start = tr("due to start in {month}", month=month_label(planned))
    if row.measured:
        behind = at.schedule_percent - row.completion_percent
        progress = tr(
            "{done}% of the annual plan against 序时进度 {due}%: {points} points {way}",
            done=row.completion_percent,
            due=at.schedule_percent,
            points=abs(behind),
            way=tr("behind") if behind > 0 else tr("ahead"),
        )
    else:
        progress = tr("not measured yet")
    rank = row.notice_rank
    notices = (
        tr("highest standing notice: {kind}", kind=word(NoticeKind, LADDER[rank]))
        if rank >= 0
        else tr("none standing")
    )
    details = {
        "start": start,
        "progress": progress,
        "reports": tr("{n} overdue", n=row.overdue_reports),
        "problems": tr("{n} open past deadline", n=row.late_problems),
        "notices": notices,
    }
    return {d: {"light": Light(getattr(row, d)).label, "detail": details[d]} for d in DIMENSIONS}


@dataclass(frozen=True)
class ProjectLight:
    project_id: uuid.UUID
    code: str
    name: str
    light: str
    dimensions: dict[str, dict[str, str]]


def _project_light(row: Any, at: Basis) -> ProjectLight:
    return ProjectLight(row.project_id, row.code, row.name, Light(row.light).label, _dimensions(row, at))


async def compute(
    session: AsyncSession,
    program: Program,
    as_of: datetime,
    *,
    where: Any = True,
    light: str | None = None,
    dimension: str | None = None,
) -> list[ProjectLight]:
    """The lights of the program's approved projects matching `where`, by code; `light` keeps
    those of that light (overall, or in `dimension` when given)."""
    settings = ProgramSettings.model_validate(program.settings)
    stmt = facts_query(program, settings, await load_calendar(session, program), as_of, where=where).subquery(
        "l"
    )
    query = select(stmt)
    if light is not None:
        query = query.where(stmt.c[dimension or "light"] == Light[light.upper()].value)
    at = basis(program, as_of)
    rows = (await session.execute(query.order_by(stmt.c.code))).all()
    return [_project_light(r, at) for r in rows]


@dataclass(frozen=True)
class Summary:
    """A program's lights counted, this year's investment against the plan by category, and the
    projects faring worst (red before yellow, then by code)."""

    counts: dict[str, int]
    by_category: list[tuple[str, Decimal, Decimal]]  # (category, investment this year, annual plan)
    worst: list[ProjectLight]
    basis: Basis


async def summary(
    session: AsyncSession, program: Program, as_of: datetime, *, where: Any = True, worst: int = 20
) -> Summary:
    """One pass over the lights' facts (the overview's figures)."""
    settings = ProgramSettings.model_validate(program.settings)
    rows = (
        await session.execute(
            facts_query(program, settings, await load_calendar(session, program), as_of, where=where)
        )
    ).all()
    counts = {light.label: 0 for light in Light}
    sums: dict[str, list[Decimal]] = {}
    for r in rows:
        counts[Light(r.light).label] += 1
        done, plan = sums.setdefault(r.category, [Decimal(0), Decimal(0)])
        sums[r.category] = [done + r.year_to_date, plan + r.annual_plan]
    at = basis(program, as_of)
    lit = sorted((r for r in rows if r.light > 0), key=lambda r: (-r.light, r.code))[:worst]
    return Summary(
        counts,
        [(category, done, plan) for category, (done, plan) in sorted(sums.items())],
        [_project_light(r, at) for r in lit],
        at,
    )


async def of_projects(
    session: AsyncSession, programs: dict[uuid.UUID, Program], project_ids: list[uuid.UUID], as_of: datetime
) -> dict[uuid.UUID, str]:
    """project id → its light (approved projects only), for rows of any programs."""
    out: dict[uuid.UUID, str] = {}
    for program in programs.values():
        settings = ProgramSettings.model_validate(program.settings)
        stmt = facts_query(
            program,
            settings,
            await load_calendar(session, program),
            as_of,
            where=col(Project.id).in_(project_ids),
        ).subquery("l")
        for project_id, value in await session.execute(select(stmt.c.project_id, stmt.c.light)):
            out[project_id] = Light(value).label
    return out


__all__ = [
    "DIMENSIONS",
    "LADDER",
    "Basis",
    "Light",
    "ProjectLight",
    "Summary",
    "basis",
    "compute",
    "facts_query",
    "of_projects",
    "standing_chains",
    "summary",
]
