"""Report endpoints: project monthly reports, unit reports, what is owed, progress indicators."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, File, Form, Query, Response, UploadFile, status
from fastapi.responses import JSONResponse

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.pagination import Page, PageDep
from services.api.projects import service as projects_service
from services.api.projects.schemas import ImportResult
from services.api.records import ProgramDep, ProjectDep, UnitDep
from services.api.reports import excel, importer, service
from services.api.reports.schemas import (
    Dues,
    IndicatorsPublic,
    ProjectReportIn,
    ProjectReportPublic,
    UnitReportIn,
    UnitReportPublic,
    as_of_param,
)
from services.api.routing import SessionDep, router
from services.api.uploads import IMPORT_ERRORS, XLSX, import_answer, read_upload
from services.api.validation import also_checked
from shared import dues
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
    "/{project_id:uuid}/reports", status_code=status.HTTP_201_CREATED, response_model=ProjectReportPublic
)
@also_checked(ProjectReportIn, service.file_checks)
async def file_project_report(
    project_id: UUID, data: ProjectReportIn, response: Response, session: SessionDep, principal: Writer
) -> ProjectReportPublic:
    """File the monthly report; a second one for the same period is a new version (the latest counts).
    Investment to date is computed, never taken from the caller. Honours `Idempotency-Key`."""
    report, raised = await service.file_project_report(
        session, project_id=project_id, data=data, principal=principal
    )
    response.headers["Location"] = f"/api/v1/projects/{project_id}/reports?period={report['period']}"
    return _public(report, raised)


@project_reports.get("/{project_id:uuid}/reports", response_model=Page[ProjectReportPublic])
async def project_report_history(
    session: SessionDep,
    principal: Reader,
    project: ProjectDep,
    page: PageDep,
    period: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
) -> Page[ProjectReportPublic]:
    """Every version, newest period and version first."""
    rows, count = await service.project_report_history(session, project=project, period=period, page=page)
    return Page(data=[_public(r.model_dump(), raised) for r, raised in rows], count=count)


@project_reports.get("/{project_id:uuid}/indicators", response_model=IndicatorsPublic)
async def project_indicators(
    as_of: AsOf, session: SessionDep, principal: Reader, project: ProjectDep
) -> IndicatorsPublic:
    """Investment rate (annual, monthly plan), milestone on-time rate, report timeliness as of an instant."""
    result = await service.indicators_of(session, project=project, as_of=as_of)
    return IndicatorsPublic.model_validate(result, from_attributes=True)


@unit_reports.post(
    "/{unit_id:uuid}/reports", status_code=status.HTTP_201_CREATED, response_model=UnitReportPublic
)
@also_checked(UnitReportIn, service.unit_report_checks)
async def file_unit_report(
    unit_id: UUID, data: UnitReportIn, session: SessionDep, principal: Writer
) -> UnitReportPublic:
    """A weekly (YYYY-Www), monthly (YYYY-MM) or instant report; an instant one is sent on at once."""
    report = await service.file_unit_report(session, unit_id=unit_id, data=data, principal=principal)
    return UnitReportPublic.model_validate(report.model_dump())


@unit_reports.get("/{unit_id:uuid}/reports", response_model=Page[UnitReportPublic])
async def unit_report_history(
    session: SessionDep,
    principal: Reader,
    unit: UnitDep,
    page: PageDep,
    kind: UnitReportKind | None = None,
    period: Annotated[str | None, Query(max_length=8)] = None,
) -> Page[UnitReportPublic]:
    """The unit's reports, newest first."""
    rows, count = await service.unit_report_history(session, unit=unit, kind=kind, period=period, page=page)
    return Page(data=[UnitReportPublic.model_validate(r.model_dump()) for r in rows], count=count)


async def _due_filters(
    kind: ScheduleKind | None = None,
    state: DueState | None = None,
    unit_id: UUID | None = None,
    project_id: UUID | None = None,
    period: Annotated[str | None, Query(max_length=8)] = None,
) -> dues.DueFilters:
    """The dues filters, shared by the list and the workbook."""
    return dues.DueFilters(kind=kind, state=state, unit_id=unit_id, project_id=project_id, period=period)


DueFilters = Annotated[dues.DueFilters, Depends(_due_filters)]


@reports.get("/dues", response_model=Dues)
async def list_dues(
    as_of: AsOf,
    session: SessionDep,
    principal: Reader,
    program: ProgramDep,
    page: PageDep,
    filters: DueFilters,
) -> Dues:
    """What every unit and project of the program owes as of an instant, who it is, its last day and
    its state, with a count per state."""
    return await service.list_dues(
        session, program=program, principal=principal, as_of=as_of, page=page, filters=filters
    )


@reports.get("/dues.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def dues_workbook(
    as_of: AsOf, session: SessionDep, principal: Reader, program: ProgramDep, filters: DueFilters
) -> Response:
    """The same dues as a workbook with Chinese headers (类型, 编号, 名称, 责任单位, 报表, 期次, 截止日期,
    提交时间, 状态), every row the list's filters select, in its order."""
    rows = await service.all_dues(session, program=program, principal=principal, as_of=as_of, filters=filters)
    return Response(
        excel.workbook(rows, as_of=as_of),
        media_type=XLSX,
        headers={"Content-Disposition": "attachment; filename*=UTF-8''dues.xlsx"},
    )


@reports.get("/template.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def report_template(principal: Reader) -> Response:
    """The template for entering project monthly reports from a spreadsheet (项目编号, 期次,
    本月完成投资(万元), 形象进度(%), 报送时间, 备注) with a notes sheet."""
    return Response(
        importer.template(),
        media_type=XLSX,
        headers={"Content-Disposition": "attachment; filename*=UTF-8''report-template.xlsx"},
    )


@reports.get("/unit-template.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def unit_report_template(principal: Reader) -> Response:
    """The template for entering unit weekly and monthly reports from a spreadsheet (单位编码, 报告类型,
    期次, 报送时间, 报告内容) with a notes sheet."""
    return Response(
        importer.unit_template(),
        media_type=XLSX,
        headers={"Content-Disposition": "attachment; filename*=UTF-8''unit-report-template.xlsx"},
    )


@reports.post("/unit-import", response_model=ImportResult, responses=IMPORT_ERRORS)
async def import_unit_reports(
    session: SessionDep,
    principal: Writer,
    file: Annotated[UploadFile, File(description="the filled-in unit report template, .xlsx or .csv")],
    dry_run: Annotated[bool, Form()] = False,
) -> ImportResult | JSONResponse:
    """File unit weekly and monthly reports from a spreadsheet, each as `POST /units/{id}/reports`
    would; office staff give each one's original filing time (报送时间) to enter history (a county
    going live in April owes nothing for the months filed on paper). Any error in any row files
    nothing and lists them all (422, dry runs too)."""
    content = await read_upload(file)
    result = await importer.run_units(
        session, filename=file.filename or "", content=content, principal=principal, dry_run=dry_run
    )
    return import_answer(result)


@reports.post("/import", response_model=ImportResult, responses=IMPORT_ERRORS)
async def import_reports(
    session: SessionDep,
    principal: Writer,
    file: Annotated[UploadFile, File(description="the filled-in report template, .xlsx or .csv")],
    program_id: Annotated[UUID, Form()],
    dry_run: Annotated[bool, Form()] = False,
) -> ImportResult | JSONResponse:
    """File project monthly reports from a spreadsheet, each as `POST /projects/{id}/reports` would;
    office staff may give each one's original filing time (报送时间) to enter history. Any error in
    any row files nothing and lists them all (422, dry runs too)."""
    content = await read_upload(file)
    program = await projects_service.program_for(session, program_id, principal)
    result = await importer.run(
        session,
        program=program,
        filename=file.filename or "",
        content=content,
        principal=principal,
        dry_run=dry_run,
    )
    return import_answer(result)
