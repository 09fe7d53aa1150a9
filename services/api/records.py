"""Record-loading dependencies: the record a path names, as the caller may see it (404 when it does
not exist or lies outside the caller's subtree, exactly as services.api.auth.scope.get_visible).

Declare them after the principal (`principal: Reader, project: ProjectDep`): FastAPI resolves
dependencies in order, so a caller without the right is told 403 before anything is looked up."""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from services.api.auth.scope import get_visible
from shared.i18n import N_
from shared.models import (
    AppUser,
    EvidenceFile,
    Finding,
    Notice,
    ObservationRound,
    Problem,
    Program,
    Project,
    Task,
    Team,
    Unit,
    Visit,
    Webhook,
)


async def visible_program(program_id: UUID, request: Request) -> Program:
    return await get_visible(
        request.state.session, Program, program_id, request.state.principal, N_("program")
    )


async def visible_project(project_id: UUID, request: Request) -> Project:
    return await get_visible(
        request.state.session, Project, project_id, request.state.principal, N_("project")
    )


async def visible_task(task_id: UUID, request: Request) -> Task:
    return await get_visible(request.state.session, Task, task_id, request.state.principal, N_("task"))


async def visible_unit(unit_id: UUID, request: Request) -> Unit:
    return await get_visible(request.state.session, Unit, unit_id, request.state.principal, N_("unit"))


async def visible_problem(problem_id: UUID, request: Request) -> Problem:
    return await get_visible(
        request.state.session, Problem, problem_id, request.state.principal, N_("problem")
    )


async def visible_user(user_id: UUID, request: Request) -> AppUser:
    return await get_visible(request.state.session, AppUser, user_id, request.state.principal, N_("user"))


async def visible_webhook(webhook_id: UUID, request: Request) -> Webhook:
    return await get_visible(
        request.state.session, Webhook, webhook_id, request.state.principal, N_("webhook")
    )


async def visible_notice(notice_id: UUID, request: Request) -> Notice:
    return await get_visible(request.state.session, Notice, notice_id, request.state.principal, N_("notice"))


async def visible_round(round_id: UUID, request: Request) -> ObservationRound:
    return await get_visible(
        request.state.session, ObservationRound, round_id, request.state.principal, N_("observation round")
    )


async def visible_team(team_id: UUID, request: Request) -> Team:
    return await get_visible(request.state.session, Team, team_id, request.state.principal, N_("team"))


async def visible_visit(visit_id: UUID, request: Request) -> Visit:
    return await get_visible(request.state.session, Visit, visit_id, request.state.principal, N_("visit"))


async def visible_finding(finding_id: UUID, request: Request) -> Finding:
    return await get_visible(
        request.state.session, Finding, finding_id, request.state.principal, N_("finding")
    )


async def visible_file(file_id: UUID, request: Request) -> EvidenceFile:
    return await get_visible(
        request.state.session, EvidenceFile, file_id, request.state.principal, N_("file")
    )


ProgramDep = Annotated[Program, Depends(visible_program)]
ProjectDep = Annotated[Project, Depends(visible_project)]
TaskDep = Annotated[Task, Depends(visible_task)]
UnitDep = Annotated[Unit, Depends(visible_unit)]
ProblemDep = Annotated[Problem, Depends(visible_problem)]
UserDep = Annotated[AppUser, Depends(visible_user)]
WebhookDep = Annotated[Webhook, Depends(visible_webhook)]
NoticeDep = Annotated[Notice, Depends(visible_notice)]
RoundDep = Annotated[ObservationRound, Depends(visible_round)]
TeamDep = Annotated[Team, Depends(visible_team)]
VisitDep = Annotated[Visit, Depends(visible_visit)]
FindingDep = Annotated[Finding, Depends(visible_finding)]
FileDep = Annotated[EvidenceFile, Depends(visible_file)]
