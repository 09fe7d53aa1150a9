"""Filing reports: versioned project monthly reports, unit reports, and the problems they raise."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.auth.principal import Principal
from services.api.auth.scope import get_visible
from services.api.reports.schemas import MONTH, WEEK, ProjectReportIn, UnitReportIn
from shared import audit, calendar, clock, outbox
from shared.dues import period_for
from shared.errors import Conflict, field_error, invalid
from shared.indicators import latest_versions
from shared.models import Milestone, Problem, ProblemEvent, Program, Project, ProjectReport, Unit, UnitReport
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


async def submit_project_report(
    session: AsyncSession, *, project_id: uuid.UUID, data: ProjectReportIn, principal: Principal
) -> tuple[ProjectReport, list[uuid.UUID]]:
    """File a monthly report; a second one for the same period is a new version."""
    # Locked: one filing per project at a time, so versions and the investment total stay consistent.
    project = await get_visible(session, Project, project_id, principal, "project", lock=True)
    if project.status != "approved":
        raise Conflict(f"Only projects in the library report; this one is {project.status}.")
    today = clock.today()
    problems: list[tuple[list[str | int], str]] = []
    if data.period > f"{today:%Y-%m}":
        problems.append((["period"], f"{data.period} has not begun yet; report a month up to {today:%Y-%m}"))
    if data.period < f"{project.start_date:%Y-%m}":
        problems.append(
            (["period"], f"the project starts in {project.start_date:%Y-%m}; {data.period} is before it")
        )
    known: dict[str, Milestone] = {}
    if data.milestones:  # most months name none: no query then
        rows = await session.scalars(select(Milestone).where(Milestone.project_id == project.id))
        known = {m.name: m for m in rows}
    for i, m in enumerate(data.milestones):
        if m.name not in known:
            names = "、".join(known) or "none"
            problems.append(
                (["milestones", i, "name"], f"the project has no milestone '{m.name}' (it has: {names})")
            )
        if m.actual_date > today:
            problems.append((["milestones", i, "actual_date"], f"{m.actual_date} is in the future"))
    previous = list(
        await session.scalars(select(ProjectReport).where(ProjectReport.project_id == project.id))
    )
    latest = latest_versions(previous)
    others = sum((r.investment_month for p, r in latest.items() if p != data.period), Decimal(0))
    to_date = others + data.investment_month
    if to_date > project.total_investment:
        problems.append(
            (
                ["investment_month"],
                f"the investment to date would be {to_date} 万元, beyond the total investment "
                f"({project.total_investment} 万元)",
            )
        )
    if problems:
        raise invalid(problems)
    program = await session.get_one(Program, project.program_id)
    settings = ProgramSettings.model_validate(program.settings)
    schedule = settings.schedule("project_monthly")
    due_at: datetime | None = None
    due_complete = True
    if schedule is not None:
        cal = await calendar.load(session, [int(data.period[:4])])
        period = period_for(schedule, data.period, cal)
        if period is not None:
            due_at, due_complete = period.due_at, period.due_complete
    now = clock.now()
    version = 1 + max((r.version for r in previous if r.period == data.period), default=0)
    by = f"{principal.kind}:{principal.id}"
    report = ProjectReport(
        project_id=project.id,
        program_id=project.program_id,
        period=data.period,
        version=version,
        investment_month=data.investment_month,
        investment_to_date=to_date,
        progress_percent=data.progress_percent,
        milestones=[m.model_dump(mode="json") for m in data.milestones],
        coordination=[p.model_dump() for p in data.problems if p.needs_coordination],
        note=data.note,
        due_at=due_at,
        due_complete=due_complete,
        late=due_at is not None and now > due_at,
        submitted_by=by,
        submitted_at=now,
    )
    session.add(report)
    await session.flush()
    for m in data.milestones:
        known[m.name].actual_date = m.actual_date
    raised = [
        (
            await raise_problem(
                session,
                program=program,
                owner_unit_id=project.responsible_unit_id,
                title=p.title,
                description=p.description,
                needs_coordination=p.needs_coordination,
                by=by,
                project_id=project.id,
                report_id=report.id,
            )
        ).id
        for p in data.problems
    ]
    await audit.record(
        session,
        actor=principal.actor,
        action="project.report",
        entity="project_report",
        entity_id=report.id,
        unit_id=project.responsible_unit_id,
        after=data.model_dump(mode="json") | {"version": version, "investment_to_date": str(to_date)},
    )
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
