"""Report endpoints: project monthly reports, unit reports, what is owed, progress indicators."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Query, Response, status
from sqlalchemy import func, select

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.auth.scope import condition, get_visible, subtree_ids
from services.api.pagination import PageDep
from services.api.reports import service
from services.api.reports.schemas import (
    Due,
    Dues,
    IndicatorsPublic,
    ProjectReportIn,
    ProjectReportPublic,
    UnitReportIn,
    UnitReportPublic,
    as_of_param,
)
from services.api.routing import SessionDep, router
from shared import calendar, dues, indicators
from shared.models import Problem, Program, Project, ProjectReport, Unit, UnitReport
from shared.program_settings import ProgramSettings
from shared.vocabulary import DueState, ScheduleKind, UnitReportKind

project_reports = router(prefix="/projects", tags=["reports"])
unit_reports = router(prefix="/units", tags=["reports"])
reports = router(prefix="/reports", tags=["reports"])
Reader = Annotated[Principal, authorize(Action.REPORTS_READ)]
Writer = Annotated[Principal, authorize(Action.REPORTS_WRITE)]
AsOf = Annotated[datetime, Depends(as_of_param)]


def _public(report: dict[str, Any], problem_ids: list[UUID] | None = None) -> ProjectReportPublic:
    return ProjectReportPublic.model_validate({**report, "problem_ids": problem_ids or []})


@project_reports.post(
    "/{project_id}/reports", status_code=status.HTTP_201_CREATED, response_model=ProjectReportPublic
)
async def file_project_report(
    project_id: UUID, data: ProjectReportIn, response: Response, session: SessionDep, principal: Writer
) -> ProjectReportPublic:
    """File the monthly report; a second one for the same period is a new version (the latest counts).
    Investment to date is computed, never taken from the caller. Honours `Idempotency-Key`."""
    report, raised = await service.submit_project_report(
        session, project_id=project_id, data=data, principal=principal
    )
    response.headers["Location"] = f"/api/v1/projects/{project_id}/reports?period={report['period']}"
    return _public(report, raised)


@project_reports.get("/{project_id}/reports", response_model=list[ProjectReportPublic])
async def project_report_history(
    project_id: UUID,
    session: SessionDep,
    principal: Reader,
    period: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
) -> list[ProjectReportPublic]:
    """Every version, newest period and version first."""
    await get_visible(session, Project, project_id, principal, "project")
    stmt = select(ProjectReport).where(ProjectReport.project_id == project_id)
    if period:
        stmt = stmt.where(ProjectReport.period == period)
    rows = await session.scalars(stmt.order_by(ProjectReport.period.desc(), ProjectReport.version.desc()))
    problems: dict[UUID, list[UUID]] = {}
    for pid, rid in await session.execute(
        select(Problem.id, Problem.report_id).where(
            Problem.project_id == project_id, Problem.report_id.is_not(None)
        )
    ):
        problems.setdefault(rid, []).append(pid)
    return [_public(r.model_dump(), problems.get(r.id)) for r in rows]


@project_reports.get("/{project_id}/indicators", response_model=IndicatorsPublic)
async def project_indicators(
    project_id: UUID, as_of: AsOf, session: SessionDep, principal: Reader
) -> IndicatorsPublic:
    """Investment rate (annual, monthly plan), milestone on-time rate, report timeliness as of an instant."""
    project = await get_visible(session, Project, project_id, principal, "project")
    program = await session.get_one(Program, project.program_id)
    cal = await calendar.load(session, [program.year])
    result = await indicators.compute(session, project=project, program=program, calendar=cal, as_of=as_of)
    return IndicatorsPublic.model_validate(result, from_attributes=True)


@unit_reports.post("/{unit_id}/reports", status_code=status.HTTP_201_CREATED, response_model=UnitReportPublic)
async def file_unit_report(
    unit_id: UUID, data: UnitReportIn, session: SessionDep, principal: Writer
) -> UnitReportPublic:
    """A weekly (YYYY-Www), monthly (YYYY-MM) or instant report; an instant one is sent on at once."""
    report = await service.submit_unit_report(session, unit_id=unit_id, data=data, principal=principal)
    return UnitReportPublic.model_validate(report.model_dump())


@unit_reports.get("/{unit_id}/reports", response_model=list[UnitReportPublic])
async def unit_report_history(
    unit_id: UUID,
    session: SessionDep,
    principal: Reader,
    kind: UnitReportKind | None = None,
    period: Annotated[str | None, Query(max_length=8)] = None,
) -> list[UnitReportPublic]:
    """The unit's reports, newest first."""
    await get_visible(session, Unit, unit_id, principal, "unit")
    stmt = select(UnitReport).where(UnitReport.unit_id == unit_id)
    if kind:
        stmt = stmt.where(UnitReport.kind == kind)
    if period:
        stmt = stmt.where(UnitReport.period == period)
    rows = await session.scalars(stmt.order_by(UnitReport.submitted_at.desc()).limit(500))
    return [UnitReportPublic.model_validate(r.model_dump()) for r in rows]


@reports.get("/dues", response_model=Dues)
async def list_dues(
    program_id: UUID,
    as_of: AsOf,
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    kind: ScheduleKind | None = None,
    state: DueState | None = None,
    unit_id: UUID | None = None,
    project_id: UUID | None = None,
    period: Annotated[str | None, Query(max_length=8)] = None,
) -> Dues:
    """What every unit and project of the program owes as of an instant, its state, a count per state."""
    program = await get_visible(session, Program, program_id, principal, "program")
    settings = ProgramSettings.model_validate(program.settings)
    cal = await calendar.load(session, [program.year])
    filters = dues.DueFilters(kind=kind, state=state, unit_id=unit_id, project_id=project_id, period=period)
    stmt = dues.dues_query(
        program,
        settings,
        cal,
        as_of,
        visible_projects=condition(Project, principal),
        visible_units=subtree_ids(principal),
        filters=filters,
    )
    if stmt is None:
        return Dues(as_of=as_of, data=[], count=0, summary=dues.summary_empty())
    # One pass: each row carries the counts per state over the whole set (a window), so the
    # page and the summary come from a single evaluation of the dues.
    sub = stmt.subquery()
    states = ("submitted", "late", "overdue", "open")
    counted = select(
        sub, *[func.count().filter(sub.c.state == st).over().label(f"n_{st}") for st in states]
    ).subquery()
    listed = select(counted)
    if state:
        listed = listed.where(counted.c.state == state)
    rows = list(
        (
            await session.execute(
                listed.order_by(counted.c.due_at, counted.c.kind, counted.c.period, counted.c.subject_id)
                .offset(page.offset)
                .limit(page.page_size)
            )
        ).mappings()
    )
    if rows:
        summary = {st: rows[0][f"n_{st}"] for st in states}
    else:  # a page past the end: count separately
        summary = await dues.summary(session, stmt)
    count = summary[state] if state else sum(summary.values())
    data = [
        Due(
            subject_type=r["subject_type"],
            unit_id=r["subject_id"] if r["subject_type"] == "unit" else None,
            project_id=None if r["subject_type"] == "unit" else r["subject_id"],
            kind=r["kind"],
            period=r["period"],
            due_at=r["due_at"],
            due_complete=r["due_complete"],
            filed_at=r["filed_at"],
            state=r["state"],
        )
        for r in rows
    ]
    return Dues(as_of=as_of, data=data, count=count, summary=summary)
