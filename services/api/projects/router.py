"""Project library endpoints: entry, review, adjustment, Excel, OC4IDS, public disclosure."""

import hashlib
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Depends, File, Form, Query, Request, Response, UploadFile, status
from fastapi.responses import JSONResponse

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.pagination import Page, PageDep
from services.api.preconditions import IfMatch, OptionalIfMatch
from services.api.projects import excel, importer, oc4ids, service
from services.api.projects.disclosure import Disclosure, disclose
from services.api.projects.schemas import (
    AdjustmentPublic,
    ImportResult,
    ProjectCreate,
    ProjectPublic,
    ProjectSummary,
    ProjectUpdate,
    ReturnIn,
    Stage,
    Status,
    WithdrawIn,
)
from services.api.records import ProgramDep, ProjectDep
from services.api.routing import SessionDep, router
from services.api.uploads import IMPORT_ERRORS, XLSX, import_answer, read_upload
from services.api.validation import also_checked
from shared import clock, progress
from shared.models import Project

projects = router(prefix="/projects", tags=["projects"])
program_views = router(prefix="/programs", tags=["projects"])
public = router(prefix="/public", tags=["public"])
Reader = Annotated[Principal, authorize(Action.PROJECTS_READ)]
Writer = Annotated[Principal, authorize(Action.PROJECTS_WRITE)]
Reviewer = Annotated[Principal, authorize(Action.PROJECTS_REVIEW)]
Sort = Literal[
    "code", "-code", "name", "-name", "total_investment", "-total_investment", "annual_plan", "-annual_plan",
    "start_date", "-start_date", "end_date", "-end_date", "updated_at", "-updated_at",
]  # fmt: skip


async def _detail(session: SessionDep, project: Project, response: Response) -> ProjectPublic:
    response.headers["ETag"] = f'"{project.version}"'
    latest = (await progress.latest_reports(session, [project.id])).get(project.id)
    light = (await service.lights_now(session, [(project.id, project.program_id, project.status)])).get(
        project.id
    )
    return service.to_public(project, await service.milestones_of(session, project.id), latest, light)


async def _filters(
    program_id: UUID | None = None,
    region_unit_id: UUID | None = None,
    responsible_unit_id: UUID | None = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    stage: Stage | None = None,
    status: Status | None = None,
    q: Annotated[str | None, Query(max_length=100, description="part of the name or code")] = None,
) -> dict[str, Any]:
    """The list filters, shared by the list and the Excel export."""
    return {
        "program_id": program_id,
        "region_unit_id": region_unit_id,
        "responsible_unit_id": responsible_unit_id,
        "category": category,
        "stage": stage,
        "status": status,
        "q": q,
    }


Filters = Annotated[dict[str, Any], Depends(_filters)]


@projects.post("", status_code=status.HTTP_201_CREATED, response_model=ProjectPublic)
@also_checked(ProjectCreate, service.create_checks)
async def create_project(
    data: ProjectCreate, request: Request, response: Response, session: SessionDep, principal: Writer
) -> ProjectPublic:
    """Enter a project as a draft (status `draft`, version 1)."""
    project = await service.create(session, data=data, principal=principal)
    response.headers["Location"] = f"{request.url.path}/{project.id}"
    return await _detail(session, project, response)


@projects.get("", response_model=Page[ProjectSummary])
async def list_projects(
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    filters: Filters,
    sort: Sort = "code",
) -> Page[ProjectSummary]:
    """Projects you can see, filtered, sorted (`-` for descending) and paginated."""
    rows, count = await service.list_projects(session, principal=principal, page=page, sort=sort, **filters)
    found = await service.lights_now(session, [(r["id"], r["program_id"], r["status"]) for r in rows])
    return Page(
        data=[ProjectSummary.model_validate({**r, "light": found.get(r["id"])}) for r in rows], count=count
    )


@projects.get("/template.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def template(
    session: SessionDep,
    principal: Reader,
    program_id: Annotated[UUID | None, Query(description="fills the category pick-list")] = None,
) -> Response:
    """The import template: Chinese headers (项目编号, 项目名称, 所属类别, …) and a notes sheet."""
    categories = await service.categories(session, program_id=program_id, principal=principal)
    units = await service.unit_choices(session, principal=principal)
    return Response(
        excel.template(categories, units),
        media_type=XLSX,
        headers={"Content-Disposition": "attachment; filename*=UTF-8''project-template.xlsx"},
    )


@projects.get("/export.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}})
async def export(session: SessionDep, principal: Reader, filters: Filters, sort: Sort = "code") -> Response:
    """Any filtered list as a workbook in the template's columns (it imports again)."""
    rows, units = await service.export_rows(
        session, principal=principal, sort=sort, limit=excel.MAX_ROWS, **filters
    )
    return Response(
        excel.export(iter(rows), units),
        media_type=XLSX,
        headers={"Content-Disposition": "attachment; filename*=UTF-8''projects.xlsx"},
    )


@projects.post(
    "/import",
    response_model=ImportResult,
    responses=IMPORT_ERRORS,
)
async def import_projects(
    session: SessionDep,
    principal: Writer,
    file: Annotated[UploadFile, File(description="the filled-in template, .xlsx or .csv")],
    program_id: Annotated[UUID, Form()],
    dry_run: Annotated[bool, Form()] = False,
) -> ImportResult | JSONResponse:
    """Import drafts from a spreadsheet; any error in any row imports nothing and lists them all
    (422, with `dry_run` too, the body listing each error by row and column)."""
    content = await read_upload(file)
    program = await service.program_for(session, program_id, principal)
    result = await importer.run(
        session,
        program=program,
        filename=file.filename or "",
        content=content,
        principal=principal,
        dry_run=dry_run,
    )
    return import_answer(result)


@projects.get("/{project_id:uuid}", response_model=ProjectPublic)
async def get_project(
    response: Response, session: SessionDep, principal: Reader, project: ProjectDep
) -> ProjectPublic:
    """One project with its milestones and monthly plan."""
    return await _detail(session, project, response)


@projects.patch("/{project_id:uuid}", response_model=ProjectPublic)
@also_checked(ProjectUpdate, service.update_checks, partial=True)
async def update_project(
    project_id: UUID,
    data: ProjectUpdate,
    version: IfMatch,
    response: Response,
    session: SessionDep,
    principal: Writer,
) -> ProjectPublic:
    """Change a draft or returned project (`If-Match: <version>`; 412 when stale)."""
    project, milestones = await service.update(
        session, project_id=project_id, data=data, version=version, principal=principal
    )
    response.headers["ETag"] = f'"{project.version}"'
    return service.to_public(project, milestones)


@projects.post("/{project_id:uuid}/submit", response_model=ProjectPublic)
async def submit(
    project_id: UUID, version: OptionalIfMatch, response: Response, session: SessionDep, principal: Writer
) -> ProjectPublic:
    """Send a draft or returned project to the program's office for review."""
    project = await service.transition(
        session, project_id=project_id, principal=principal, to="submitted", version=version
    )
    return await _detail(session, project, response)


@projects.post("/{project_id:uuid}/approve", response_model=ProjectPublic)
async def approve(
    project_id: UUID, version: OptionalIfMatch, response: Response, session: SessionDep, principal: Reviewer
) -> ProjectPublic:
    """Approve a submitted project: it enters the library and `project.approved` is sent."""
    project = await service.transition(
        session, project_id=project_id, principal=principal, to="approved", version=version
    )
    return await _detail(session, project, response)


@projects.post("/{project_id:uuid}/return", response_model=ProjectPublic)
async def return_project(
    project_id: UUID,
    data: ReturnIn,
    version: OptionalIfMatch,
    response: Response,
    session: SessionDep,
    principal: Reviewer,
) -> ProjectPublic:
    """Return a submitted project with the reason; the unit fixes it and submits again."""
    project = await service.transition(
        session,
        project_id=project_id,
        principal=principal,
        to="returned",
        version=version,
        reason=data.reason,
    )
    return await _detail(session, project, response)


@projects.post("/{project_id:uuid}/withdraw", response_model=AdjustmentPublic)
@also_checked(WithdrawIn, service.withdraw_checks)
async def withdraw(
    project_id: UUID, data: WithdrawIn, version: OptionalIfMatch, session: SessionDep, principal: Reviewer
) -> AdjustmentPublic:
    """Move an approved project out, replacements in (409 if the approved total would drop)."""
    adjustment = await service.withdraw(
        session, project_id=project_id, data=data, principal=principal, version=version
    )
    return AdjustmentPublic.model_validate(adjustment.model_dump())


@program_views.get("/{program_id:uuid}/adjustments", response_model=Page[AdjustmentPublic])
async def adjustments(
    session: SessionDep, principal: Reader, program: ProgramDep, page: PageDep
) -> Page[AdjustmentPublic]:
    """Every dynamic adjustment of the program, oldest first."""
    rows, count = await service.adjustments(session, program=program, principal=principal, page=page)
    return Page(data=[AdjustmentPublic.model_validate(a.model_dump()) for a in rows], count=count)


@program_views.get("/{program_id:uuid}/oc4ids")
async def oc4ids_package(
    request: Request, session: SessionDep, principal: Reader, program: ProgramDep
) -> dict[str, Any]:
    """The program's approved and withdrawn projects as an OC4IDS 0.9 project package."""
    rows, milestones, units = await service.for_oc4ids(session, program=program, principal=principal)
    today = clock.today()
    return oc4ids.package(
        str(request.url),
        clock.now(),
        [oc4ids.project(p, program, units, milestones.get(p.id, []), today) for p in rows],
        publisher=units[program.office_unit_id].name,
    )


@public.get("/programs/{program_id:uuid}/projects", response_model=Disclosure)
async def disclosed(program_id: UUID, request: Request, session: SessionDep) -> Response:
    """Public disclosure (004 二(七)): approved projects, their responsible leader, service team and
    time nodes, and quarterly progress. No sign-in; no phone numbers or other personal contacts.
    Cached for five minutes; send `If-None-Match` with the ETag for a 304."""
    body = await disclose(session, program_id)
    payload = body.model_dump_json().encode()
    etag = '"' + hashlib.sha256(payload).hexdigest()[:32] + '"'
    headers = {"Cache-Control": "public, max-age=300", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(payload, media_type="application/json", headers=headers)
