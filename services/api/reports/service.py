"""Filing reports: versioned project monthly reports, unit reports, and the problems they raise."""

import json
import uuid
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, String, Text, Uuid, bindparam, cast, func, insert, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by, distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.auth.principal import Principal
from services.api.auth.scope import condition, get_visible, not_visible
from services.api.reports.schemas import MONTH, WEEK, ProjectReportIn, UnitReportIn
from shared import audit, calendar, clock, outbox
from shared.db import Compiled, driver_connection
from shared.dues import period_for
from shared.errors import Conflict, field_error, invalid
from shared.models import (
    AuditEntry,
    CalendarYear,
    Milestone,
    Problem,
    ProblemEvent,
    Program,
    Project,
    ProjectReport,
    Unit,
    UnitReport,
)
from shared.program_settings import ProgramSettings


async def raise_problem(
    session: AsyncSession,
    *,
    program: Program,
    owner_unit_id: uuid.UUID,
    title: str,
    description: str | None,
    needs_coordination: bool,
    by: str,
    project_id: uuid.UUID | None = None,
    report_id: uuid.UUID | None = None,
) -> Problem:
    """A new problem in the ledger, due a program-set number of working days from today."""
    settings = ProgramSettings.model_validate(program.settings)
    today = clock.today()
    cal = await calendar.load(session, [today.year])
    deadline = cal.add_working_days(today, settings.problem_rules.deadline_working_days)
    now = clock.now()
    problem = Problem(
        program_id=program.id,
        project_id=project_id,
        report_id=report_id,
        owner_unit_id=owner_unit_id,
        title=title,
        description=description,
        needs_coordination=needs_coordination,
        deadline=deadline.date,
        deadline_complete=deadline.complete,
        raised_at=now,
    )
    session.add(problem)
    await session.flush()
    session.add(ProblemEvent(problem_id=problem.id, action="raised", to_level=0, by=by, at=now))
    return problem


_NOBODY = uuid.UUID(int=0)


@lru_cache(maxsize=1024)
def _lock(unit_path: str) -> Compiled:
    """The project's row, locked (one filing per project at a time, so versions and the
    investment to date stay consistent); none when the principal cannot see it, by the one
    subtree rule. Compiled once per unit."""
    viewer = Principal("user", _NOBODY, "", _NOBODY, unit_path)
    return Compiled(
        select(Project.status)
        .where(Project.id == bindparam("project_id", type_=Uuid), condition(Project, viewer))
        .with_for_update(of=Project)
    )


def _facts() -> Compiled:
    """Read after the lock (a statement sees what was committed when it began): the project,
    its program's settings, the latest investment of every other period, the last version of
    this one, and a stamp of the calendar years the deadline depends on."""
    project_id, period = bindparam("project_id", type_=Uuid), bindparam("period", type_=String)
    year = bindparam("year", type_=Integer)
    latest = (
        select(ProjectReport.investment_month)
        .where(ProjectReport.project_id == project_id, ProjectReport.period != period)
        .ext(distinct_on(ProjectReport.period))
        .order_by(ProjectReport.period, ProjectReport.version.desc())
        .subquery()
    )
    others = select(func.coalesce(func.sum(latest.c.investment_month), 0)).scalar_subquery()
    last_version = (
        select(func.coalesce(func.max(ProjectReport.version), 0))
        .where(ProjectReport.project_id == project_id, ProjectReport.period == period)
        .scalar_subquery()
    )
    calendar_stamp = (
        select(
            func.string_agg(
                func.concat(CalendarYear.year, "@", CalendarYear.updated_at),
                aggregate_order_by(literal(","), CalendarYear.year),
            )
        )
        .where(CalendarYear.year.between(year, year + 1))
        .scalar_subquery()
    )
    return Compiled(
        select(
            Project.start_date,
            Project.total_investment,
            Project.program_id,
            Project.responsible_unit_id,
            cast(Program.settings, Text).label("settings"),
            others.label("others"),
            last_version.label("last_version"),
            calendar_stamp.label("calendar"),
        )
        .join_from(Project, Program, Program.id == Project.program_id)
        .where(Project.id == project_id)
    )


_FACTS = _facts()
_REPORT = ProjectReport.__table__  # type: ignore[attr-defined]
_AUDIT = AuditEntry.__table__  # type: ignore[attr-defined]
# The report and its audit row in one statement (a data-modifying CTE runs whether or not it is read).
_FILE = Compiled(
    insert(_AUDIT)
    .values({name: bindparam(f"a_{name}") for name in audit.FIELDS})
    .add_cte(insert(_REPORT).values({c.name: bindparam(f"r_{c.name}") for c in _REPORT.columns}).cte("filed"))
)


@lru_cache(maxsize=256)
def _settings(text: str) -> ProgramSettings:
    return ProgramSettings.model_validate_json(text)


# (program settings, period, calendar stamp) → (due_at, complete): calendars and settings change
# rarely, and the stamp changes with them.
_DUE: dict[tuple[str, str, str | None], tuple[datetime | None, bool]] = {}


async def _due(
    session: AsyncSession, settings_text: str, period: str, stamp: str | None
) -> tuple[datetime | None, bool]:
    key = (settings_text, period, stamp)
    if key not in _DUE:
        schedule = _settings(settings_text).schedule("project_monthly")
        due: tuple[datetime | None, bool] = (None, True)
        if schedule is not None:
            found = period_for(schedule, period, await calendar.load(session, [int(period[:4])]))
            if found is not None:
                due = (found.due_at, found.due_complete)
        if len(_DUE) > 4096:
            _DUE.clear()
        _DUE[key] = due
    return _DUE[key]


async def submit_project_report(
    session: AsyncSession, *, project_id: uuid.UUID, data: ProjectReportIn, principal: Principal
) -> tuple[dict[str, Any], list[uuid.UUID]]:
    """File a monthly report (returned as its row); a second one for the same period is a new version.

    The hot path of the api (every project, every month, often on the last day): the checks and
    the writes go straight to the driver on the session's connection, three statements in all."""
    conn = await driver_connection(session)
    status = await _lock(principal.unit_path).fetchval(conn, project_id=project_id)
    if status is None:
        raise not_visible("project", project_id)
    if status != "approved":
        raise Conflict(f"Only projects in the library report; this one is {status}.")
    facts = await _FACTS.fetchrow(conn, project_id=project_id, period=data.period, year=int(data.period[:4]))
    assert facts is not None  # locked above
    today = clock.today()
    problems: list[tuple[list[str | int], str]] = []
    if data.period > f"{today:%Y-%m}":
        problems.append((["period"], f"{data.period} has not begun yet; report a month up to {today:%Y-%m}"))
    if data.period < f"{facts['start_date']:%Y-%m}":
        problems.append(
            (["period"], f"the project starts in {facts['start_date']:%Y-%m}; {data.period} is before it")
        )
    known: dict[str, Milestone] = {}
    if data.milestones:  # most months name none: no query then
        rows = await session.scalars(select(Milestone).where(Milestone.project_id == project_id))
        known = {m.name: m for m in rows}
    for i, m in enumerate(data.milestones):
        if m.name not in known:
            names = "、".join(known) or "none"
            problems.append(
                (["milestones", i, "name"], f"the project has no milestone '{m.name}' (it has: {names})")
            )
        if m.actual_date > today:
            problems.append((["milestones", i, "actual_date"], f"{m.actual_date} is in the future"))
    to_date = facts["others"] + data.investment_month
    if to_date > facts["total_investment"]:
        problems.append(
            (
                ["investment_month"],
                f"the investment to date would be {to_date} 万元, beyond the total investment "
                f"({facts['total_investment']} 万元)",
            )
        )
    if problems:
        raise invalid(problems)
    due_at, due_complete = await _due(session, facts["settings"], data.period, facts["calendar"])
    now = clock.now()
    version = facts["last_version"] + 1
    by = f"{principal.kind}:{principal.id}"
    report: dict[str, Any] = {  # the project_report row, column by column
        "id": uuid.uuid4(),
        "project_id": project_id,
        "program_id": facts["program_id"],
        "period": data.period,
        "version": version,
        "investment_month": data.investment_month,
        "investment_to_date": to_date,
        "progress_percent": data.progress_percent,
        "milestones": [m.model_dump(mode="json") for m in data.milestones],
        "coordination": [p.model_dump() for p in data.problems if p.needs_coordination],
        "note": data.note,
        "due_at": due_at,
        "due_complete": due_complete,
        "late": due_at is not None and now > due_at,
        "submitted_by": by,
        "submitted_at": now,
    }
    row = audit.entry(
        actor=principal.actor,
        action="project.report",
        entity="project_report",
        entity_id=report["id"],
        unit_id=facts["responsible_unit_id"],
        after=data.model_dump(mode="json") | {"version": version, "investment_to_date": str(to_date)},
    )
    values = {f"r_{c.name}": report[c.name] for c in _REPORT.columns}
    values |= {f"a_{k}": v for k, v in row.items()}
    for key in ("r_milestones", "r_coordination", "a_before", "a_after"):
        values[key] = json.dumps(values[key]) if values[key] is not None else None
    await _FILE.execute(conn, **values)
    for m in data.milestones:
        known[m.name].actual_date = m.actual_date
    raised: list[uuid.UUID] = []
    if data.problems:
        program = await session.get_one(Program, facts["program_id"])
        for p in data.problems:
            problem = await raise_problem(
                session,
                program=program,
                owner_unit_id=facts["responsible_unit_id"],
                title=p.title,
                description=p.description,
                needs_coordination=p.needs_coordination,
                by=by,
                project_id=project_id,
                report_id=report["id"],
            )
            raised.append(problem.id)
    return report, raised


def _check_period(data: UnitReportIn, today: date) -> None:
    if data.kind == "instant":
        if data.period is not None:
            raise field_error("period", "an instant report has no period; send null")
        return
    pattern, example = (WEEK, "2018-W39") if data.kind == "weekly" else (MONTH, "2018-09")
    if data.period is None or not pattern.match(data.period):
        raise field_error("period", f"a {data.kind} report needs its period, such as {example}")
    if data.kind == "weekly":
        year, week = int(data.period[:4]), int(data.period[6:])
        try:
            start = date.fromisocalendar(year, week, 1)
        except ValueError:
            raise field_error("period", f"{year} has no ISO week {week}") from None
        if start > today:
            raise field_error("period", f"{data.period} has not begun yet")
    elif data.period > f"{today:%Y-%m}":
        raise field_error("period", f"{data.period} has not begun yet")


async def submit_unit_report(
    session: AsyncSession, *, unit_id: uuid.UUID, data: UnitReportIn, principal: Principal
) -> UnitReport:
    """A weekly, monthly or instant report; an instant one goes out at once through the outbox."""
    _check_period(data, clock.today())
    unit = await get_visible(session, Unit, unit_id, principal, "unit", lock=True)
    version = 1
    if data.period is not None:
        version += (
            await session.scalar(
                select(func.count()).where(
                    UnitReport.unit_id == unit.id,
                    UnitReport.kind == data.kind,
                    UnitReport.period == data.period,
                )
            )
            or 0
        )
    now = clock.now()
    report = UnitReport(
        unit_id=unit.id,
        kind=data.kind,
        period=data.period,
        version=version,
        body=data.body,
        submitted_by=f"{principal.kind}:{principal.id}",
        submitted_at=now,
    )
    session.add(report)
    await session.flush()
    if data.kind == "instant":
        await outbox.publish_event(
            session,
            event="report.instant",
            subject_type="unit",
            subject_id=unit.id,
            occurred_at=now,
            data={
                "report_id": str(report.id),
                "unit_code": unit.code,
                "unit_name": unit.name,
                "body": data.body,
            },
        )
    await audit.record(
        session,
        actor=principal.actor,
        action=f"unit.report.{data.kind}",
        entity="unit_report",
        entity_id=report.id,
        unit_id=unit.id,
        after=data.model_dump(mode="json") | {"version": version},
    )
    return report
