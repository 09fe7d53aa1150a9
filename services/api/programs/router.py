"""Program and task endpoints."""

from typing import Annotated
from uuid import UUID

from fastapi import Query, Request, Response, status

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.pagination import Page, PageDep
from services.api.preconditions import IfMatch
from services.api.programs import service
from services.api.programs.schemas import (
    CarriedOver,
    CarryOver,
    IndicatorValueIn,
    IndicatorValuePublic,
    ProgramClose,
    ProgramCreate,
    ProgramPublic,
    ProgramUpdate,
    TaskCreate,
    TaskPublic,
)
from services.api.records import ProgramDep, TaskDep
from services.api.routing import SessionDep, router
from services.api.validation import also_checked
from shared.dates import Day
from shared.models import Program

programs = router(prefix="/programs", tags=["programs"])
tasks = router(prefix="/tasks", tags=["programs"])
Reader = Annotated[Principal, authorize(Action.PROGRAMS_READ)]
Writer = Annotated[Principal, authorize(Action.PROGRAMS_WRITE)]


async def _public(session: SessionDep, program: Program) -> ProgramPublic:
    totals = await service.approved_totals(session, [program.id])
    return service.to_public(program, totals.get(program.id))


@programs.post("", status_code=status.HTTP_201_CREATED, response_model=ProgramPublic)
@also_checked(ProgramCreate, service.create_checks)
async def create_program(
    data: ProgramCreate, request: Request, response: Response, session: SessionDep, principal: Writer
) -> ProgramPublic:
    """A new program; without settings it gets the seeds' report schedules and escalation ladder."""
    program = await service.create(session, data=data, principal=principal)
    response.headers["ETag"] = f'"{program.version}"'
    response.headers["Location"] = f"{request.url.path}/{program.id}"
    return await _public(session, program)


@programs.get("", response_model=Page[ProgramPublic])
async def list_programs(
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    q: Annotated[str | None, Query(max_length=100, description="Part of the name or code")] = None,
) -> Page[ProgramPublic]:
    """Programs run by your office, offices below it, or offices above you."""
    rows, count = await service.list_programs(session, principal=principal, page=page, year=year, q=q)
    totals = await service.approved_totals(session, [p.id for p in rows])
    return Page(data=[service.to_public(p, totals.get(p.id)) for p in rows], count=count)


@programs.get("/{program_id:uuid}", response_model=ProgramPublic)
async def get_program(
    response: Response, session: SessionDep, principal: Reader, program: ProgramDep
) -> ProgramPublic:
    """One program with its settings and approved totals."""
    response.headers["ETag"] = f'"{program.version}"'
    return await _public(session, program)


@programs.patch("/{program_id:uuid}", response_model=ProgramPublic)
@also_checked(ProgramUpdate, service.update_checks, partial=True)
async def update_program(
    program_id: UUID,
    data: ProgramUpdate,
    version: IfMatch,
    response: Response,
    session: SessionDep,
    principal: Writer,
) -> ProgramPublic:
    """Change the name, categories or settings; needs `If-Match: <version>`."""
    program = await service.update(
        session, program_id=program_id, data=data, version=version, principal=principal
    )
    response.headers["ETag"] = f'"{program.version}"'
    return await _public(session, program)


@programs.post("/{program_id:uuid}/close", response_model=ProgramPublic)
@also_checked(ProgramClose, service.close_checks)
async def close_program(
    data: ProgramClose, response: Response, session: SessionDep, principal: Writer, program: ProgramDep
) -> ProgramPublic:
    """Close the program's year (its office), after its annual assessment is published or forced
    with a reason: from then on it is read-only (409 on every write into it), no sweep chases it,
    and its open notice chains end (`program_closed`)."""
    program = await service.close(session, program=program, data=data, principal=principal)
    response.headers["ETag"] = f'"{program.version}"'
    return await _public(session, program)


@programs.post("/{program_id:uuid}/carry-over", response_model=CarriedOver)
@also_checked(CarryOver, service.carry_checks)
async def carry_over(
    data: CarryOver, session: SessionDep, principal: Writer, program: ProgramDep
) -> CarriedOver:
    """Copy this program's continuing projects (续建: approved, not completed) into a later year's
    program of the same office, with their leaders, service teams and the milestones not yet met;
    each copy is a draft whose annual and monthly plans the unit fills and submits. Carrying over
    again copies nothing twice."""
    return await service.carry_over(
        session, program=program, to_program_id=data.to_program_id, principal=principal
    )


@programs.post("/{program_id:uuid}/tasks", status_code=status.HTTP_201_CREATED, response_model=TaskPublic)
@also_checked(TaskCreate, service.task_checks)
async def create_task(
    program_id: UUID, data: TaskCreate, response: Response, session: SessionDep, principal: Writer
) -> TaskPublic:
    """A numbered task with lead / responsible / cooperating units and quantified targets."""
    task = await service.create_task(session, program_id=program_id, data=data, principal=principal)
    response.headers["Location"] = f"/api/v1/tasks/{task.id}"
    return await service.task_public(session, task)


@programs.get("/{program_id:uuid}/tasks", response_model=Page[TaskPublic])
async def list_tasks(
    program_id: UUID, session: SessionDep, principal: Reader, page: PageDep
) -> Page[TaskPublic]:
    """The program's tasks in number order, each with its targets' state today."""
    rows, count = await service.list_tasks(session, program_id=program_id, principal=principal, page=page)
    return Page(data=[await service.task_public(session, t) for t in rows], count=count)


@tasks.get("/{task_id:uuid}", response_model=TaskPublic)
async def get_task(
    session: SessionDep,
    principal: Reader,
    task: TaskDep,
    as_of: Annotated[Day | None, Query(description="the date to judge targets at; default today")] = None,
) -> TaskPublic:
    """A task and each target's state as of a date: met, on track, behind or missed."""
    return await service.task_public(session, task, as_of)


@tasks.post(
    "/{task_id:uuid}/indicator-values",
    status_code=status.HTTP_201_CREATED,
    response_model=IndicatorValuePublic,
)
@also_checked(IndicatorValueIn, service.indicator_checks)
async def report_indicator(
    task_id: UUID,
    data: IndicatorValueIn,
    session: SessionDep,
    principal: Annotated[Principal, authorize(Action.TASKS_REPORT)],
) -> IndicatorValuePublic:
    """Report an indicator's value as of a date (one of the task's units, or the office)."""
    value = await service.report_indicator(session, task_id=task_id, data=data, principal=principal)
    return IndicatorValuePublic.model_validate(value.model_dump())
