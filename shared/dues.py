"""What every unit and project owes as of any instant: report periods, due dates, and states.

A period is owed once it has ended (or, for a report due inside its own month such as
Luanchuan's project form by the 22nd, once it has begun). Its state as of an instant:
submitted (first filed by the deadline), late (first filed after it), overdue (deadline
passed, nothing filed), open (not yet due). Deadlines are end of day, Asia/Shanghai, moved
to the next working day when the schedule says so. The SQL does the crossing of subjects
and periods, so 10k projects cost one query.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared import report_facts as facts
from shared.calendar import WorkingCalendar
from shared.clock import OFFICE_TZ
from shared.db import AnySelect
from shared.models import Program, Project, ProjectReport, Task, TaskUnit
from shared.program_settings import ProgramSettings, ReportSchedule
from shared.vocabulary import STAGES_OWING_REPORTS, UNIT_SCHEDULES, ScheduleKind


@dataclass(frozen=True)
class Period:
    kind: str  # the schedule kind
    label: str  # 2018-W39 | 2018-09 | 2018Q3
    start: date
    end: date
    due: date
    due_complete: bool  # False: the due date's year had no calendar data (weekends only)

    @property
    def due_at(self) -> datetime:
        """End of the due day in China: the first instant that is late."""
        return datetime.combine(self.due + timedelta(days=1), time(0), OFFICE_TZ)

    @property
    def owed_from(self) -> date:
        return self.start if self.due <= self.end else self.end + timedelta(days=1)


def end_of_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), OFFICE_TZ) - timedelta(microseconds=1)


def _month_day(year: int, month: int, day: int) -> date:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return date(year, month, day)


def periods(schedule: ReportSchedule, year: int, calendar: WorkingCalendar) -> list[Period]:
    """Every period of `year` under `schedule`, with its deadline."""
    raw: list[tuple[str, date, date, date]] = []
    if schedule.kind == "unit_weekly":
        weeks = date(year, 12, 28).isocalendar().week
        for week in range(1, weeks + 1):
            start = date.fromisocalendar(year, week, 1)
            end = start + timedelta(days=6)
            raw.append((f"{year}-W{week:02d}", start, end, end + timedelta(days=schedule.due_weekday or 1)))
    elif schedule.kind == "project_quarterly":
        for q in range(1, 5):
            start, last = date(year, 3 * q - 2, 1), 3 * q
            end = _month_day(year, last + 1, 1) - timedelta(days=1)
            raw.append(
                (
                    f"{year}Q{q}",
                    start,
                    end,
                    _month_day(year, last + schedule.month_offset, schedule.due_day or 1),
                )
            )
    else:
        for month in range(1, 13):
            start = date(year, month, 1)
            end = _month_day(year, month + 1, 1) - timedelta(days=1)
            raw.append(
                (
                    f"{year}-{month:02d}",
                    start,
                    end,
                    _month_day(year, month + schedule.month_offset, schedule.due_day or 1),
                )
            )
    out = []
    for label, start, end, due in raw:
        moved = calendar.next_working_day(due) if schedule.move_to_next_working_day else None
        out.append(
            Period(
                schedule.kind,
                label,
                start,
                end,
                moved.date if moved else due,
                moved.complete if moved else due.year in calendar.years,
            )
        )
    return out


def period_for(schedule: ReportSchedule, label: str, calendar: WorkingCalendar) -> Period | None:
    year = int(label[:4])
    return next((p for p in periods(schedule, year, calendar) if p.label == label), None)


@dataclass(frozen=True)
class DueFilters:
    kind: str | None = None
    state: str | None = None
    unit_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    period: str | None = None


def _columns(subject_type: str, subject_id: Any, table: Any, first_at: Any, as_of: datetime) -> list[Any]:
    return [
        literal(subject_type).label("subject_type"),
        subject_id.label("subject_id"),
        table.c.kind,
        table.c.period,
        table.c.due_at,
        table.c.complete.label("due_complete"),
        first_at.label("filed_at"),
        _state(first_at, table.c.due_at, as_of).label("state"),
    ]


def _state(first_at: Any, due_at: Any, as_of: datetime) -> Any:
    return case(
        (and_(first_at.is_(None), literal(as_of) > due_at), "overdue"),
        (first_at.is_(None), "open"),
        (first_at <= due_at, "submitted"),
        else_="late",
    )


def dues_query(
    program: Program,
    settings: ProgramSettings,
    calendar: WorkingCalendar,
    as_of: datetime,
    *,
    visible_projects: Any,
    visible_units: Any,
    filters: DueFilters,
) -> Any:
    """A SELECT of (subject_type, subject_id, kind, period, due_at, due_complete, filed_at, state);
    `filters.state` is left to the caller, so a summary can count every state."""
    as_of_day = as_of.astimezone(OFFICE_TZ).date()
    parts = []
    for schedule in settings.report_schedules:
        if filters.kind and filters.kind != schedule.kind:
            continue
        items = [
            p
            for p in periods(schedule, program.year, calendar)
            if not filters.period or p.label == filters.period
        ]
        owed = [
            (p.kind, p.label, p.start, p.end, p.due_at, p.due_complete)
            for p in items
            if p.owed_from <= as_of_day
        ]
        table = facts.periods_table(owed)  # None: nothing of this schedule is owed yet
        if table is None:
            continue
        if schedule.kind in UNIT_SCHEDULES:
            parts.append(_unit_dues(program, schedule.kind, table, as_of, visible_units, filters))
        else:
            parts.append(_project_dues(program, table, as_of, visible_projects, filters))
    if not parts:
        return None
    union = parts[0] if len(parts) == 1 else parts[0].union_all(*parts[1:])
    return select(union.subquery())


def _project_dues(
    program: Program, table: Any, as_of: datetime, visible_projects: Any, filters: DueFilters
) -> Any:
    filed = facts.first_filed(col(ProjectReport.program_id) == program.id, as_of=as_of).subquery("filed")
    stmt = (
        select(*_columns("project", col(Project.id), table, filed.c.first_at, as_of))
        .select_from(Project)
        .join(table, facts.owes(Project, table))
        .outerjoin(filed, and_(filed.c.project_id == col(Project.id), filed.c.period == table.c.period))
        .where(
            col(Project.program_id) == program.id,
            col(Project.status) == "approved",
            col(Project.stage).in_(STAGES_OWING_REPORTS),
            visible_projects,
        )
    )
    if filters.project_id:
        stmt = stmt.where(col(Project.id) == filters.project_id)
    if filters.unit_id:
        stmt = stmt.where(
            or_(
                col(Project.responsible_unit_id) == filters.unit_id,
                col(Project.region_unit_id) == filters.unit_id,
            )
        )
    return stmt


def owing_units(program: Program) -> Any:
    """Units that owe unit reports: responsible units of the program's tasks and approved projects."""
    by_task: AnySelect = (
        select(col(TaskUnit.unit_id).label("unit_id"))
        .join(Task, col(Task.id) == col(TaskUnit.task_id))
        .where(col(Task.program_id) == program.id, col(TaskUnit.role) == "responsible")
    )
    by_project: AnySelect = select(col(Project.responsible_unit_id).label("unit_id")).where(
        col(Project.program_id) == program.id, col(Project.status) == "approved"
    )
    return by_task.union(by_project).subquery()


def _unit_dues(
    program: Program, kind: str, table: Any, as_of: datetime, visible_units: Any, filters: DueFilters
) -> Any:
    report_kind = UNIT_SCHEDULES[ScheduleKind(kind)]
    filed = facts.unit_first_filed(report_kind, as_of).subquery("filed")
    units = owing_units(program)
    stmt = (
        select(*_columns("unit", units.c.unit_id, table, filed.c.first_at, as_of))
        .select_from(units)
        .join(table, literal(True))
        .outerjoin(filed, and_(filed.c.unit_id == units.c.unit_id, filed.c.period == table.c.period))
        .where(units.c.unit_id.in_(visible_units))
    )
    if filters.unit_id:
        stmt = stmt.where(units.c.unit_id == filters.unit_id)
    if filters.project_id:
        stmt = stmt.where(literal(False))
    return stmt


def summary_empty() -> dict[str, int]:
    return {"submitted": 0, "late": 0, "overdue": 0, "open": 0}


async def summary(session: AsyncSession, stmt: Any) -> dict[str, int]:
    """How many dues are in each state."""
    sub = stmt.subquery()
    rows = await session.execute(select(sub.c.state, func.count()).group_by(sub.c.state))
    counts = summary_empty()
    counts.update({state: n for state, n in rows})
    return counts
