"""The problem ledger: owner unit, deadline in working days, meeting level, resolve, refer."""

from typing import Annotated
from uuid import UUID

from fastapi import Query

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.pagination import Page, PageDep
from services.api.problems import service
from services.api.problems.schemas import ProblemPublic, ProblemSummary, ReferIn, ResolveIn, ReturnIn
from services.api.records import ProblemDep, ProgramDep
from services.api.routing import SessionDep, router
from services.api.validation import also_checked
from shared.vocabulary import ProblemState

problems = router(prefix="/problems", tags=["problems"])
Reader = Annotated[Principal, authorize(Action.REPORTS_READ)]
Referrer = Annotated[Principal, authorize(Action.PROBLEMS_REFER)]
Confirmer = Annotated[Principal, authorize(Action.PROBLEMS_CONFIRM)]


@problems.get("", response_model=Page[ProblemPublic])
async def list_problems(
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    program_id: UUID | None = None,
    project_id: UUID | None = None,
    state: ProblemState | None = None,
    overdue: Annotated[bool | None, Query(description="only open problems past their deadline")] = None,
) -> Page[ProblemPublic]:
    """Problems owned by units in your subtree, oldest deadline first."""
    rows, count = await service.list_problems(
        session,
        principal=principal,
        page=page,
        program_id=program_id,
        project_id=project_id,
        state=state,
        overdue=overdue,
    )
    return Page(data=rows, count=count)


@problems.get("/summary", response_model=ProblemSummary)
async def summary(session: SessionDep, principal: Reader, program: ProgramDep) -> ProblemSummary:
    """The program's resolution rate (Xinchang aims at 80 %) over the problems you can see."""
    return await service.summary(session, program=program, principal=principal)


@problems.get("/{problem_id:uuid}", response_model=ProblemPublic)
async def get_problem(session: SessionDep, principal: Reader, problem: ProblemDep) -> ProblemPublic:
    """A problem with what happened to it."""
    return await service.to_public(session, problem)


@problems.post("/{problem_id:uuid}/resolve", response_model=ProblemPublic)
async def resolve(
    data: ResolveIn,
    session: SessionDep,
    principal: Annotated[Principal, authorize(Action.REPORTS_WRITE)],
    problem: ProblemDep,
) -> ProblemPublic:
    """Say how the problem was solved (its owner unit or the office); it awaits the office's
    confirmation (`POST /problems/{id}/confirm`) and counts as resolved only then."""
    await service.resolve(session, problem=problem, resolution=data.resolution, principal=principal)
    return await service.to_public(session, problem)


@problems.post("/{problem_id:uuid}/confirm", response_model=ProblemPublic)
async def confirm(session: SessionDep, principal: Confirmer, problem: ProblemDep) -> ProblemPublic:
    """Confirm the resolution the unit claimed (办结复核): the problem counts as resolved."""
    await service.confirm(session, problem=problem, principal=principal)
    return await service.to_public(session, problem)


@problems.post("/{problem_id:uuid}/return", response_model=ProblemPublic)
async def send_back(
    data: ReturnIn, session: SessionDep, principal: Confirmer, problem: ProblemDep
) -> ProblemPublic:
    """Return the claimed resolution with the reason: the problem is open again."""
    await service.send_back(session, problem=problem, reason=data.reason, principal=principal)
    return await service.to_public(session, problem)


@problems.post("/{problem_id:uuid}/refer", response_model=ProblemPublic)
@also_checked(ReferIn, service.refer_checks)
async def refer(
    data: ReferIn, session: SessionDep, principal: Referrer, problem: ProblemDep
) -> ProblemPublic:
    """Take an open problem to a higher meeting: system → leadership meeting → standing committee
    (协调推进机制; not to be confused with the escalation of a notice)."""
    await service.refer(session, problem=problem, data=data, principal=principal)
    return await service.to_public(session, problem)


@problems.post("/{problem_id:uuid}/escalate", response_model=ProblemPublic, deprecated=True)
async def escalate(
    data: ReferIn, session: SessionDep, principal: Referrer, problem: ProblemDep
) -> ProblemPublic:
    """The former name of `POST /problems/{problem_id}/refer`, kept for integrators; use `refer`."""
    return await refer(data, session, principal, problem)
