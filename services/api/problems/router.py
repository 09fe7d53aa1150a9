"""The problem ledger: owner unit, deadline in working days, meeting level, resolve and escalate."""

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.auth.scope import get_visible, visible
from services.api.pagination import Page, PageDep
from services.api.routing import SessionDep, router
from shared import audit, clock
from shared.errors import InvalidState, field_error
from shared.models import MEETING_LEVELS, Problem, ProblemEvent, Program
from shared.program_settings import ProgramSettings

problems = router(prefix="/problems", tags=["problems"])
Reader = Annotated[Principal, authorize(Action.REPORTS_READ)]
Level = Literal["system_meeting", "leadership_meeting", "standing_committee"]


class EventPublic(BaseModel):
    action: str
    from_level: Level | None
    to_level: Level | None
    reason: str | None
    by: str
    at: datetime


class ProblemPublic(BaseModel):
    id: UUID
    program_id: UUID
    project_id: UUID | None
    owner_unit_id: UUID
    title: str
    description: str | None
    needs_coordination: bool
    state: Literal["open", "resolved"]
    meeting_level: Level
    deadline: date
    deadline_complete: bool = Field(description="false: counted on weekends only (no calendar for that year)")
    overdue: bool
    resolution: str | None
    raised_at: datetime
    resolved_at: datetime | None
    events: list[EventPublic] = Field(default_factory=list)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: str = Field(min_length=1, max_length=10_000)


class EscalateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_level: Level
    reason: str = Field(min_length=1, max_length=2000)


class ProblemSummary(BaseModel):
    program_id: UUID
    total: int
    resolved: int
    open: int
    overdue: int
    resolution_rate: float = Field(description="resolved ÷ total (1 when there are none)")
    target_resolution_rate: float
    on_target: bool


def _level(n: int | None) -> str | None:
    return None if n is None else MEETING_LEVELS[n]


async def _public(session: SessionDep, problem: Problem, with_events: bool = True) -> ProblemPublic:
    events = []
    if with_events:
        rows = await session.scalars(
            select(ProblemEvent).where(ProblemEvent.problem_id == problem.id).order_by(ProblemEvent.at)
        )
        events = [
            EventPublic(
                action=e.action,
                from_level=_level(e.from_level),
                to_level=_level(e.to_level),
                reason=e.reason,
                by=e.by,
                at=e.at,
            )
            for e in rows
        ]
    return ProblemPublic.model_validate(
        {
            **problem.model_dump(),
            "meeting_level": MEETING_LEVELS[problem.meeting_level],
            "overdue": problem.state == "open" and problem.deadline < clock.today(),
            "events": events,
        }
    )


@problems.get("", response_model=Page[ProblemPublic])
async def list_problems(
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    program_id: UUID | None = None,
    project_id: UUID | None = None,
    state: Literal["open", "resolved"] | None = None,
    overdue: Annotated[bool | None, Query(description="only open problems past their deadline")] = None,
) -> Page[ProblemPublic]:
    """Problems owned by units in your subtree, oldest deadline first."""
    stmt = visible(select(Problem), Problem, principal)
    if program_id:
        stmt = stmt.where(Problem.program_id == program_id)
    if project_id:
        stmt = stmt.where(Problem.project_id == project_id)
    if state:
        stmt = stmt.where(Problem.state == state)
    if overdue:
        stmt = stmt.where(Problem.state == "open", Problem.deadline < clock.today())
    count = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = await session.scalars(
        stmt.order_by(Problem.deadline, Problem.raised_at).offset(page.offset).limit(page.page_size)
    )
    return Page(data=[await _public(session, p, with_events=False) for p in rows], count=count)


@problems.get("/summary", response_model=ProblemSummary)
async def summary(program_id: UUID, session: SessionDep, principal: Reader) -> ProblemSummary:
    """The program's resolution rate (Xinchang aims at 80 %) over the problems you can see."""
    program = await get_visible(session, Program, program_id, principal, "program")
    settings = ProgramSettings.model_validate(program.settings)
    stmt = visible(select(Problem), Problem, principal).where(Problem.program_id == program.id).subquery()
    total, resolved, overdue = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(stmt.c.state == "resolved"),
                func.count().filter(stmt.c.state == "open", stmt.c.deadline < clock.today()),
            ).select_from(stmt)
        )
    ).one()
    rate = resolved / total if total else 1.0
    target = settings.problem_rules.target_resolution_rate
    return ProblemSummary(
        program_id=program.id,
        total=total,
        resolved=resolved,
        open=total - resolved,
        overdue=overdue,
        resolution_rate=round(rate, 4),
        target_resolution_rate=target,
        on_target=rate >= target,
    )


@problems.get("/{problem_id}", response_model=ProblemPublic)
async def get_problem(problem_id: UUID, session: SessionDep, principal: Reader) -> ProblemPublic:
    """A problem with what happened to it."""
    return await _public(session, await get_visible(session, Problem, problem_id, principal, "problem"))


@problems.post("/{problem_id}/resolve", response_model=ProblemPublic)
async def resolve(
    problem_id: UUID,
    data: ResolveIn,
    session: SessionDep,
    principal: Annotated[Principal, authorize(Action.REPORTS_WRITE)],
) -> ProblemPublic:
    """Record how the problem was solved (its owner unit or the office)."""
    problem = await get_visible(session, Problem, problem_id, principal, "problem")
    if problem.state == "resolved":
        raise InvalidState("The problem is already resolved.")
    now, by = clock.now(), principal.key
    problem.state, problem.resolution, problem.resolved_at = "resolved", data.resolution, now
    problem.version += 1
    session.add(ProblemEvent(problem_id=problem.id, action="resolved", reason=data.resolution, by=by, at=now))
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor,
        action="problem.resolve",
        entity="problem",
        entity_id=problem.id,
        unit_id=problem.owner_unit_id,
        after={"resolution": data.resolution},
    )
    return await _public(session, problem)


@problems.post("/{problem_id}/escalate", response_model=ProblemPublic)
async def escalate(
    problem_id: UUID,
    data: EscalateIn,
    session: SessionDep,
    principal: Annotated[Principal, authorize(Action.PROBLEMS_ESCALATE)],
) -> ProblemPublic:
    """Send an open problem up to a higher meeting: system → leadership meeting → standing committee."""
    problem = await get_visible(session, Problem, problem_id, principal, "problem")
    if problem.state == "resolved":
        raise InvalidState("A resolved problem is not escalated.")
    to = MEETING_LEVELS.index(data.to_level)
    if to <= problem.meeting_level:
        raise field_error(
            "to_level",
            f"the problem is at {MEETING_LEVELS[problem.meeting_level]} already; name a higher meeting",
        )
    now, by = clock.now(), principal.key
    session.add(
        ProblemEvent(
            problem_id=problem.id,
            action="escalated",
            from_level=problem.meeting_level,
            to_level=to,
            reason=data.reason,
            by=by,
            at=now,
        )
    )
    before = MEETING_LEVELS[problem.meeting_level]
    problem.meeting_level = to
    problem.version += 1
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor,
        action="problem.escalate",
        entity="problem",
        entity_id=problem.id,
        unit_id=problem.owner_unit_id,
        before={"meeting_level": before},
        after={"meeting_level": data.to_level, "reason": data.reason},
    )
    return await _public(session, problem)
