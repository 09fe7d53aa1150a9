"""The problem ledger: listing, the resolution rate, resolving, and taking a problem to a higher
meeting (system meeting → leadership meeting → standing committee)."""

from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.principal import Principal
from services.api.auth.scope import visible
from services.api.pagination import PageParams, paginate
from services.api.problems.schemas import EventPublic, ProblemPublic, ProblemSummary, ReferIn
from shared import audit, clock
from shared.errors import InvalidState, invalid
from shared.i18n import tr, word
from shared.models import Problem, ProblemEvent, Program
from shared.program_settings import ProgramSettings
from shared.vocabulary import MeetingLevel, ProblemAction, ProblemState


def _level(rank: int | None) -> MeetingLevel | None:
    return None if rank is None else MeetingLevel.at(rank)


async def to_public(session: AsyncSession, problem: Problem, with_events: bool = True) -> ProblemPublic:
    events = []
    if with_events:
        rows = await session.scalars(
            select(ProblemEvent)
            .where(col(ProblemEvent.problem_id) == problem.id)
            .order_by(col(ProblemEvent.at))
        )
        events = [
            EventPublic(
                action=ProblemAction(e.action),
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
            "meeting_level": MeetingLevel.at(problem.meeting_level),
            "overdue": problem.state == ProblemState.OPEN and problem.deadline < clock.today(),
            "events": events,
        }
    )


async def list_problems(
    session: AsyncSession,
    *,
    principal: Principal,
    page: PageParams,
    program_id: UUID | None = None,
    project_id: UUID | None = None,
    state: ProblemState | None = None,
    overdue: bool | None = None,
) -> tuple[list[ProblemPublic], int]:
    """Problems owned by units in the principal's subtree, oldest deadline first."""
    stmt = visible(select(Problem), Problem, principal)
    if program_id:
        stmt = stmt.where(col(Problem.program_id) == program_id)
    if project_id:
        stmt = stmt.where(col(Problem.project_id) == project_id)
    if state:
        stmt = stmt.where(col(Problem.state) == state)
    if overdue:
        stmt = stmt.where(col(Problem.state) == ProblemState.OPEN, col(Problem.deadline) < clock.today())
    rows, count = await paginate(session, stmt, page, col(Problem.deadline), col(Problem.raised_at))
    return [await to_public(session, p, with_events=False) for p in rows], count


async def summary(session: AsyncSession, *, program: Program, principal: Principal) -> ProblemSummary:
    """The program's resolution rate over the problems the principal can see."""
    settings = ProgramSettings.model_validate(program.settings)
    stmt = (
        visible(select(Problem), Problem, principal).where(col(Problem.program_id) == program.id).subquery()
    )
    total, resolved, claimed, overdue = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(stmt.c.state == ProblemState.RESOLVED),
                func.count().filter(stmt.c.state == ProblemState.RESOLUTION_CLAIMED),
                func.count().filter(stmt.c.state == ProblemState.OPEN, stmt.c.deadline < clock.today()),
            ).select_from(stmt)
        )
    ).one()
    rate = resolved / total if total else 1.0
    target = settings.problem_rules.target_resolution_rate
    return ProblemSummary(
        program_id=program.id,
        total=total,
        resolved=resolved,
        awaiting_confirmation=claimed,
        open=total - resolved,
        overdue=overdue,
        resolution_rate=round(rate, 4),
        target_resolution_rate=target,
        on_target=rate >= target,
    )


async def resolve(
    session: AsyncSession, *, problem: Problem, resolution: str, principal: Principal
) -> Problem:
    """The owner unit (or the office) says how the problem was solved: it awaits the office's
    confirmation (办结复核) and counts as resolved only then."""
    if problem.state != ProblemState.OPEN:
        raise InvalidState(
            tr(
                "Only an open problem is resolved; this one is {state}.",
                state=word(ProblemState, problem.state),
            )
        )
    problem.state, problem.resolution = ProblemState.RESOLUTION_CLAIMED, resolution
    await _happened(session, problem, ProblemAction.RESOLUTION_CLAIMED, resolution, principal)
    return problem


async def confirm(session: AsyncSession, *, problem: Problem, principal: Principal) -> Problem:
    """The office confirms a claimed resolution: the problem is resolved."""
    if problem.state != ProblemState.RESOLUTION_CLAIMED:
        raise InvalidState(
            tr(
                "Only a claimed resolution is confirmed; this problem is {state}.",
                state=word(ProblemState, problem.state),
            )
        )
    problem.state, problem.resolved_at = ProblemState.RESOLVED, clock.now()
    await _happened(session, problem, ProblemAction.RESOLVED, None, principal)
    return problem


async def send_back(session: AsyncSession, *, problem: Problem, reason: str, principal: Principal) -> Problem:
    """The office returns a claimed resolution: open again, with the reason."""
    if problem.state != ProblemState.RESOLUTION_CLAIMED:
        raise InvalidState(
            tr(
                "Only a claimed resolution is returned; this problem is {state}.",
                state=word(ProblemState, problem.state),
            )
        )
    problem.state, problem.resolution = ProblemState.OPEN, None
    await _happened(session, problem, ProblemAction.RETURNED, reason, principal)
    return problem


async def _happened(
    session: AsyncSession, problem: Problem, action: ProblemAction, reason: str | None, principal: Principal
) -> None:
    problem.version += 1
    session.add(
        ProblemEvent(problem_id=problem.id, action=action, reason=reason, by=principal.key, at=clock.now())
    )
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor,
        action=f"problem.{action}",
        entity="problem",
        entity_id=problem.id,
        unit_id=problem.owner_unit_id,
        after={"state": problem.state, "reason": reason},
    )


def _level_problems(problem: Problem, to_level: MeetingLevel | None) -> list[tuple[list[str | int], str]]:
    """A meeting not above the one the problem is at."""
    if to_level is None or to_level.rank > problem.meeting_level:
        return []
    before = MeetingLevel.at(problem.meeting_level)
    said = tr("the problem is at {level} already; name a higher meeting", level=word(MeetingLevel, before))
    return [(["to_level"], said)]


async def refer_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> list[tuple[list[str | int], str]]:
    """`_level_problems` for a referral whose reason failed the schema (the problem was found
    visible before the body was read)."""
    problem = await session.get(Problem, path.get("problem_id"))
    return [] if problem is None else _level_problems(problem, fields.get("to_level"))


async def refer(session: AsyncSession, *, problem: Problem, data: ReferIn, principal: Principal) -> Problem:
    """Take an open problem to a higher meeting."""
    if problem.state != ProblemState.OPEN:
        raise InvalidState(
            tr(
                "Only an open problem is taken to a higher meeting; this one is {state}.",
                state=word(ProblemState, problem.state),
            )
        )
    if problems := _level_problems(problem, data.to_level):
        raise invalid(problems)
    before = MeetingLevel.at(problem.meeting_level)

    session.add(
        ProblemEvent(
            problem_id=problem.id,
            action=ProblemAction.REFERRED,
            from_level=problem.meeting_level,
            to_level=data.to_level.rank,
            reason=data.reason,
            by=principal.key,
            at=clock.now(),
        )
    )
    problem.meeting_level = data.to_level.rank
    problem.version += 1
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor,
        action="problem.refer",
        entity="problem",
        entity_id=problem.id,
        unit_id=problem.owner_unit_id,
        before={"meeting_level": before},
        after={"meeting_level": data.to_level, "reason": data.reason},
    )
    return problem
