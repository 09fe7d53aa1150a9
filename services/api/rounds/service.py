"""Observation rounds: the office sets one up and opens it, inspectors score from their phones
(offline-safe: every score carries the phone's id and the time it was taken), the office closes it.

A batch of scores is one transaction of three statements whatever its size: the receipts of
the phone's ids already taken (resends are duplicates), the receipts of the new ones, and one
upsert of the standing scores in which a score taken later replaces one taken earlier and
never the other way round."""

import math
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, TypeVar

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.permissions import Action, can
from services.api.auth.principal import Principal
from services.api.auth.scope import (
    holds,
    not_visible,
    owned_or_403,
    unseen_units,
    visible,
)
from services.api.pagination import PageParams, paginate
from services.api.preconditions import writable
from services.api.rounds import excel
from services.api.rounds.schemas import (
    MAX_BATCH,
    AssessmentIn,
    AssessmentOut,
    AssessmentQueued,
    Assignment,
    AssignmentsOut,
    CriterionLeft,
    ExplainOut,
    Fairness,
    Grouping,
    GroupResults,
    GroupRow,
    ProjectResults,
    ProjectRow,
    Publication,
    Rating,
    Rejected,
    RoundIn,
    RoundPublic,
    ScoreIn,
    ScoreResult,
    ScoresOut,
    SheetIn,
    YearEndIn,
)
from shared import audit, clock
from shared.assessment import compute as assessment_of
from shared.assessment import latest_published
from shared.clock import OFFICE_TZ
from shared.dates import answered
from shared.errors import (
    Forbidden,
    InvalidState,
    NotFound,
    PayloadTooLarge,
    field_error,
    invalid,
    query_error,
)
from shared.i18n import N_, tr, word
from shared.models import (
    AppUser,
    ObservationRound,
    ObservationScore,
    Program,
    Project,
    RoundInspector,
    RoundProject,
    RoundSnapshot,
    SnapshotRatings,
    Unit,
    YearEndEvaluation,
)
from shared.outbox import add_message, publish_event
from shared.queues import Job, PublishAssessmentPayload, RankRoundPayload, Target
from shared.ranking import RankedUnit, RoundPublished, RoundResults, cents
from shared.ranking import snapshot as snapshot_of
from shared.rounds import COMPONENTS, RoundSettings
from shared.vocabulary import ProjectStatus, Role, RoundState, WebhookEvent

T = TypeVar("T")
OFFICE_ONLY = N_("Only the program's office (or an office above it) runs its observation rounds.")
SCORERS = frozenset({Role.INSPECTOR, Role.LEADER})
CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock may run this far ahead


async def to_public(session: AsyncSession, rnd: ObservationRound) -> RoundPublic:
    projects = await session.scalars(
        select(col(RoundProject.project_id)).where(col(RoundProject.round_id) == rnd.id)
    )
    inspectors = await session.scalars(
        select(col(RoundInspector.user_id)).where(col(RoundInspector.round_id) == rnd.id)
    )
    state = rnd.state
    if state == RoundState.CLOSED and await session.scalar(
        select(func.count()).where(col(RoundSnapshot.round_id) == rnd.id)
    ):
        state = RoundState.RANKED  # the ranker's results are ready to publish
    return RoundPublic.model_validate(
        {
            **rnd.model_dump(),
            "state": state,
            "project_ids": list(projects),
            "inspector_user_ids": list(inspectors),
        }
    )


async def list_rounds(
    session: AsyncSession, *, principal: Principal, page: PageParams, program_id: uuid.UUID | None
) -> tuple[list[RoundPublic], int]:
    """Rounds of the programs the principal sees, latest window first."""
    stmt = visible(select(ObservationRound), ObservationRound, principal)
    if program_id:
        stmt = stmt.where(col(ObservationRound.program_id) == program_id)
    rows, count = await paginate(
        session, stmt, page, col(ObservationRound.opens_at).desc(), col(ObservationRound.id)
    )
    return [await to_public(session, r) for r in rows], count


TEN_PLACES = Decimal("1e-10")


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _places(value: Decimal | None) -> str:
    """A working figure to ten places (trailing zeros dropped)."""
    if value is None:
        return "none"
    shown = value.quantize(TEN_PLACES).normalize()
    return f"{shown:f}"


def _quarter_days(quarter: str) -> tuple[date, date]:
    """The first and last day of a quarter labelled 2018Q3."""
    year, q = int(quarter[:4]), int(quarter[-1])
    first = date(year, 3 * q - 2, 1)
    after = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return first, after - timedelta(days=1)


async def round_problems(
    session: AsyncSession, principal: Principal, program: Program, fields: dict[str, Any]
) -> list[tuple[list[str | int], str]]:
    """Everything an office could get wrong in a round the schema cannot see, over the fields
    given (a rule whose fields are missing is left out: services/api/validation.py)."""
    problems: list[tuple[list[str | int], str]] = []
    opens_at, closes_at = fields.get("opens_at"), fields.get("closes_at")
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        problems.append((["closes_at"], tr("the round must close after it opens")))
    trim = fields.get("aggregation")
    if (
        trim is not None and trim.trim and trim.min_raters_for_trim <= 2 * trim.trim
    ):  # (JSON Schema cannot say it)
        problems.append(
            (
                ["aggregation", "min_raters_for_trim"],
                tr(
                    "trimming {trim} from each end needs at least {need} raters (min_raters_for_trim), "
                    "or a project would keep none of its ratings",
                    trim=trim.trim,
                    need=2 * trim.trim + 1,
                ),
            )
        )
    quarter = fields.get("quarter")
    if quarter is not None and opens_at is not None:
        first, last = _quarter_days(quarter)
        opens = opens_at.astimezone(OFFICE_TZ).date()
        if not first <= opens <= last + timedelta(days=31):
            problems.append(
                (
                    ["opens_at"],
                    tr(
                        "a {quarter} round opens within that quarter or the month after it "
                        "({first} to {until}), not on {opens}",
                        quarter=quarter,
                        first=first,
                        until=last + timedelta(days=31),
                        opens=opens,
                    ),
                )
            )
    weight, weights = fields.get("observation_weight"), fields.get("objective_weights")
    if weight is not None and weights is not None:
        total = weight + sum(weights.values(), Decimal(0))
        if total != 1:
            problems.append(
                (
                    ["objective_weights"],
                    tr("observation and objective weights must sum to 1, not {total}", total=total),
                )
            )
    problems += [
        (["rubric", i, "key"], tr("the key {key} is used twice", key=key))
        for i, key in _repeats(c.key for c in fields.get("rubric") or [])
    ]
    if (project_ids := fields.get("project_ids")) is not None:
        problems += await _unfit_projects(session, program, project_ids)
    if (user_ids := fields.get("inspector_user_ids")) is not None:
        problems += await _unfit_inspectors(session, user_ids, principal)
    return problems


async def round_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> list[tuple[list[str | int], str]]:
    """`round_problems` for a body whose other fields failed the schema: its program when the
    caller's office holds it."""
    program = await _held(session, principal, fields.get("program_id"))
    return [] if program is None else await round_problems(session, principal, program, fields)


async def create_round(
    session: AsyncSession, *, data: RoundIn, program: Program, principal: Principal
) -> ObservationRound:
    """A draft round, after checking everything an office could get wrong, all at once."""
    await owned_or_403(session, Program, program.id, principal, OFFICE_ONLY)
    writable(program)
    problems = await round_problems(session, principal, program, dict(data))
    if problems:
        raise invalid(problems)
    rnd = ObservationRound(
        program_id=program.id,
        name=data.name,
        quarter=data.quarter,
        opens_at=data.opens_at,
        closes_at=data.closes_at,
        grace_hours=data.grace_hours,
        rubric=[c.model_dump(mode="json") for c in data.rubric],
        aggregation=data.aggregation.model_dump(mode="json"),
        observation_weight=data.observation_weight,
        objective_weights={str(k): str(v) for k, v in data.objective_weights.items()},
        tie_break=data.tie_break,
        praise_top=data.praise_top,
        criticise_bottom=data.criticise_bottom,
        state=RoundState.DRAFT,
        created_by=principal.key,
    )
    session.add(rnd)
    await session.flush()
    session.add_all(RoundProject(round_id=rnd.id, project_id=p) for p in dict.fromkeys(data.project_ids))
    session.add_all(
        RoundInspector(round_id=rnd.id, user_id=u) for u in dict.fromkeys(data.inspector_user_ids)
    )
    await session.flush()
    await _audit(session, rnd, principal, "round.created")
    return rnd


def _repeats(values: Iterable[T]) -> Iterator[tuple[int, T]]:
    """(index, value) of each value that an earlier one repeats."""
    seen: set[T] = set()
    for i, value in enumerate(values):
        if value in seen:
            yield i, value
        seen.add(value)


async def _unfit_projects(
    session: AsyncSession, program: Program, project_ids: list[uuid.UUID]
) -> list[tuple[list[str | int], str]]:
    approved = set(
        await session.scalars(
            select(col(Project.id)).where(
                col(Project.id).in_(project_ids),
                col(Project.program_id) == program.id,
                col(Project.status) == ProjectStatus.APPROVED,
            )
        )
    )
    return [
        (["project_ids", i], tr("{id} is not an approved project of this program", id=p))
        for i, p in enumerate(project_ids)
        if p not in approved
    ]


async def _unfit_inspectors(
    session: AsyncSession, user_ids: list[uuid.UUID], principal: Principal
) -> list[tuple[list[str | int], str]]:
    """Inspectors the office can see (its own subtree): one of another city is answered as an
    unknown id is, so the answer tells nothing of who exists elsewhere."""
    rows = await session.execute(
        visible(
            select(col(AppUser.id), col(AppUser.roles), col(AppUser.is_active)).where(
                col(AppUser.id).in_(user_ids)
            ),
            AppUser,
            principal,
        )
    )
    found = {uid: (set(roles) & SCORERS, active) for uid, roles, active in rows}
    problems: list[tuple[list[str | int], str]] = []
    for i, uid in enumerate(user_ids):
        if uid not in found or not found[uid][1]:
            problems.append(
                (["inspector_user_ids", i], tr("there is no active user {id} that you can see", id=uid))
            )
        elif not found[uid][0]:
            problems.append(
                (["inspector_user_ids", i], tr("{id} is neither an inspector nor a leader", id=uid))
            )
    return problems


async def _audit(session: AsyncSession, rnd: ObservationRound, principal: Principal, action: str) -> None:
    program = await session.get(Program, rnd.program_id)
    await audit.record(
        session,
        actor=principal.actor,
        action=action,
        entity="observation_round",
        entity_id=rnd.id,
        unit_id=program.office_unit_id if program else None,
        after={"state": rnd.state, "quarter": rnd.quarter},
    )


async def move(
    session: AsyncSession, *, rnd: ObservationRound, principal: Principal, to: RoundState
) -> ObservationRound:
    """Open a draft round, or close an open one (scores taken in the window still arrive
    during the grace period)."""
    await owned_or_403(session, Program, rnd.program_id, principal, OFFICE_ONLY)
    before = RoundState.DRAFT if to == RoundState.OPEN else RoundState.OPEN
    if rnd.state != before:
        raise InvalidState(
            tr(
                "Only a {before} round can become {after}; this one is {state}.",
                before=word(RoundState, before),
                after=word(RoundState, to),
                state=word(RoundState, rnd.state),
            )
        )
    rnd.state = to
    rnd.version += 1
    if to == RoundState.OPEN:
        rnd.opened_at = clock.now()
    else:
        rnd.closed_at = clock.now()
        await _rank(session, rnd)
    await session.flush()
    await _audit(session, rnd, principal, f"round.{to}")
    return rnd


async def _rank(session: AsyncSession, rnd: ObservationRound) -> None:
    """Ask the ranker to compute the round's results once this commits."""
    await add_message(
        session,
        producer="api",
        target=Target.RANKER,
        job=Job.RANK_ROUND,
        payload=RankRoundPayload(round_id=rnd.id),
    )


def accepting_until(rnd: ObservationRound) -> datetime:
    return rnd.closes_at + timedelta(hours=rnd.grace_hours)


async def is_inspector(session: AsyncSession, rnd: ObservationRound, user_id: uuid.UUID) -> bool:
    return bool(
        await session.scalar(
            select(func.count()).where(
                col(RoundInspector.round_id) == rnd.id, col(RoundInspector.user_id) == user_id
            )
        )
    )


@dataclass(frozen=True)
class _Scope:
    code: str
    name: str
    unit_paths: tuple[str, ...]  # the project's region, owner and responsible units


async def _in_scope(
    session: AsyncSession, rnd: ObservationRound, project_ids: list[uuid.UUID] | None
) -> dict[uuid.UUID, _Scope]:
    """The round's projects (those of `project_ids` only, when given) with their units' paths."""
    region, owner, responsible = (Unit.__table__.alias(n) for n in ("region", "owner", "resp"))  # type: ignore[attr-defined]
    stmt = (
        select(
            col(Project.id),
            col(Project.code),
            col(Project.name),
            region.c.path,
            owner.c.path,
            responsible.c.path,
        )
        .join(RoundProject, col(RoundProject.project_id) == col(Project.id))
        .join(region, region.c.id == col(Project.region_unit_id))
        .join(owner, owner.c.id == col(Project.owner_unit_id))
        .join(responsible, responsible.c.id == col(Project.responsible_unit_id))
        .where(col(RoundProject.round_id) == rnd.id)
        .order_by(col(Project.code))
    )
    if project_ids is not None:
        stmt = stmt.where(col(Project.id).in_(set(project_ids)))
    return {pid: _Scope(code, name, tuple(paths)) for pid, code, name, *paths in await session.execute(stmt)}


def conflicted(inspector_path: str, scope: _Scope) -> bool:
    """An inspector whose unit is one of the project's units, or lies inside one, does not
    score it; an office above them may."""
    return any(inspector_path.startswith(path) for path in scope.unit_paths)


_TAKEN = text(
    "SELECT client_id FROM score_receipt WHERE round_id = :round AND inspector_id = :inspector "
    "AND client_id = ANY(CAST(:ids AS uuid[]))"
)
_RECEIVE = text(
    "INSERT INTO score_receipt (round_id, inspector_id, client_id, received_at) "
    "SELECT :round, :inspector, v.id, :now FROM unnest(CAST(:ids AS uuid[])) AS v(id) ORDER BY v.id "
    "ON CONFLICT DO NOTHING RETURNING client_id"
)
_STAND = text(
    "INSERT INTO observation_score (id, round_id, inspector_id, project_id, criterion, value, scored_at, "
    "client_id, received_at, entered_by_office) "
    "SELECT gen_random_uuid(), :round, :inspector, v.project, v.criterion, v.value, v.at, v.client, :now, "
    ":paper "
    "FROM unnest(CAST(:projects AS uuid[]), CAST(:criteria AS text[]), CAST(:values AS numeric[]), "
    "CAST(:ats AS timestamptz[]), CAST(:clients AS uuid[])) AS v(project, criterion, value, at, client) "
    "ON CONFLICT (round_id, inspector_id, project_id, criterion) DO UPDATE "
    "SET value = excluded.value, scored_at = excluded.scored_at, client_id = excluded.client_id, "
    "received_at = excluded.received_at, entered_by_office = excluded.entered_by_office "
    "WHERE (observation_score.scored_at, observation_score.client_id) "
    "< (excluded.scored_at, excluded.client_id) "
    "RETURNING client_id"
)


async def record_scores(
    session: AsyncSession, *, rnd: ObservationRound, principal: Principal, scores: list[ScoreIn]
) -> ScoresOut:
    """Take a batch from an inspector's phone: a result per score, the good ones kept even when
    others in the batch are bad."""
    if len(scores) > MAX_BATCH:
        raise PayloadTooLarge(
            tr("Send at most {max} scores a batch; this one has {n}.", max=MAX_BATCH, n=len(scores))
        )
    if principal.kind != "user" or not await is_inspector(session, rnd, principal.id):
        raise Forbidden(tr("You are not an inspector of this round."))
    if rnd.state == RoundState.DRAFT:
        raise InvalidState(tr("The round has not been opened yet: the office opens it first."))
    out = await _take(session, rnd, principal.id, principal.unit_path, scores, paper=False)
    if out.accepted or out.superseded:
        await audit.record(
            session,
            actor=principal.actor,
            action="round.scores",
            entity="observation_round",
            entity_id=rnd.id,
            unit_id=principal.unit_id,
            after={"accepted": out.accepted, "superseded": out.superseded, "rejected": len(out.rejected)},
        )
    return out


async def sheet_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> list[tuple[list[str | int], str]]:
    """A paper sheet's inspector who is not the round's, for a sheet whose other fields failed
    the schema (the office only: others learn nothing of the round's inspectors)."""
    rnd = await session.get(ObservationRound, path.get("round_id"))
    who = fields.get("inspector_user_id")
    if rnd is None or who is None or not await is_office(session, rnd, principal):
        return []
    if await _inspector(session, rnd, who) is None:
        return [(["inspector_user_id"], tr("{id} is not an inspector of this round", id=who))]
    return []


async def record_sheet(
    session: AsyncSession, *, rnd: ObservationRound, principal: Principal, sheet: SheetIn
) -> ScoresOut:
    """An inspector's paper score sheet, entered by the office (audited): each line counts as the
    inspector's score taken when the sheet was filled in (inside the window), whenever it is
    entered, and is marked as entered by the office. Entering the sheet again changes nothing."""
    if not await is_office(session, rnd, principal):
        raise Forbidden(tr(OFFICE_ONLY))
    if rnd.state == RoundState.DRAFT:
        raise InvalidState(tr("The round has not been opened yet: the office opens it first."))
    inspector = await _inspector(session, rnd, sheet.inspector_user_id)
    if inspector is None:
        raise field_error(
            "inspector_user_id", tr("{id} is not an inspector of this round", id=sheet.inspector_user_id)
        )
    scores = [
        ScoreIn(
            client_id=uuid.uuid5(sheet.sheet_id, f"{line.project_id}/{line.criterion}"),
            project_id=line.project_id, criterion=line.criterion, value=line.value, scored_at=sheet.scored_at,
        )
        for line in sheet.lines
    ]  # fmt: skip
    out = await _take(session, rnd, inspector[0].id, inspector[1], scores, paper=True)
    if out.accepted or out.superseded:
        await audit.record(
            session,
            actor=principal.actor,
            action="round.sheet",
            entity="observation_round",
            entity_id=rnd.id,
            unit_id=principal.unit_id,
            after={"sheet_id": str(sheet.sheet_id), "inspector": str(sheet.inspector_user_id),
                   "scored_at": sheet.scored_at.isoformat(), "accepted": out.accepted,
                   "superseded": out.superseded, "rejected": len(out.rejected)},
        )  # fmt: skip
    return out


async def _take(
    session: AsyncSession,
    rnd: ObservationRound,
    inspector_id: uuid.UUID,
    inspector_path: str,
    scores: list[ScoreIn],
    *,
    paper: bool,
) -> ScoresOut:
    """Keep an inspector's scores (a phone's batch, or a paper sheet the office enters): a result
    per score, the good ones kept even when others are bad."""
    now = clock.now()
    ids = [s.client_id for s in scores]
    taken = set(await session.scalars(_TAKEN, {"round": rnd.id, "inspector": inspector_id, "ids": ids}))
    results: dict[int, ScoreResult] = {}
    fresh: dict[uuid.UUID, int] = {}  # client_id → index of the first of the batch to carry it
    for i, s in enumerate(scores):
        if s.client_id in taken or s.client_id in fresh:
            results[i] = ScoreResult(client_id=s.client_id, status="duplicate")
        else:
            fresh[s.client_id] = i
    scope = await _in_scope(session, rnd, [scores[i].project_id for i in fresh.values()])
    outside = {scores[i].project_id for i in fresh.values()} - scope.keys()
    # a project of the program the round leaves out is named by its code, not an id
    codes = dict(
        (await session.execute(
            select(col(Project.id), col(Project.code)).where(
                col(Project.id).in_(outside), col(Project.program_id) == rnd.program_id
            )
        )).all()
    ) if outside else {}  # fmt: skip
    rubric = {c["key"]: Decimal(str(c["max_score"])) for c in rnd.rubric}
    names = {c["key"]: f"{c['name']} ({c['key']})" for c in rnd.rubric}
    good: list[int] = []
    for i in fresh.values():
        fault = _fault(scores[i], rnd, rubric, names, scope, codes, inspector_path, now, paper=paper)
        if fault:
            results[i] = ScoreResult(
                client_id=scores[i].client_id, status="rejected", error=fault[0], detail=fault[1]
            )
        else:
            good.append(i)
    new_ids = [scores[i].client_id for i in good]
    receipt = {"round": rnd.id, "inspector": inspector_id, "now": now, "ids": new_ids}
    received = set(await session.scalars(_RECEIVE, receipt)) if good else set()
    latest: dict[tuple[uuid.UUID, str], int] = {}
    for i in good:
        s = scores[i]
        if s.client_id not in received:  # the same id, sent at the same moment by another request
            results[i] = ScoreResult(client_id=s.client_id, status="duplicate")
            continue
        key = (s.project_id, s.criterion)
        if key not in latest or _later(s, scores[latest[key]]):
            latest[key] = i
    # in one order, whatever the batch's: two batches of overlapping scores lock the same rows in
    # the same order and never deadlock
    winners = [latest[key] for key in sorted(latest)]
    stood = set(
        await session.scalars(
            _STAND,
            {
                "round": rnd.id,
                "inspector": inspector_id,
                "now": now,
                "paper": paper,
                "projects": [scores[i].project_id for i in winners],
                "criteria": [scores[i].criterion for i in winners],
                "values": [Decimal(str(_number(scores[i].value))) for i in winners],
                "ats": [scores[i].scored_at for i in winners],
                "clients": [scores[i].client_id for i in winners],
            },
        )
    ) if winners else set()  # fmt: skip
    for i in good:
        if i not in results:
            status = "accepted" if scores[i].client_id in stood else "superseded"
            results[i] = ScoreResult(client_id=scores[i].client_id, status=status)
    items = [results[i] for i in range(len(scores))]
    out = ScoresOut(
        accepted=sum(r.status == "accepted" for r in items),
        duplicates=sum(r.status == "duplicate" for r in items),
        superseded=sum(r.status == "superseded" for r in items),
        rejected=[
            Rejected(client_id=r.client_id, error=r.error or "", detail=r.detail or "")
            for r in items
            if r.status == "rejected"
        ],
        items=items,
    )
    if out.accepted and rnd.state in (RoundState.CLOSED, RoundState.PUBLISHED):
        await _rank(session, rnd)  # a phone that was offline, a sheet on paper: the results take it in
    return out


def _later(s: ScoreIn, than: ScoreIn) -> bool:
    """Which of two scores of one criterion stands: the later `scored_at`, and of two taken at the
    same instant the greater `client_id` — the same whatever order they arrive in."""
    return (s.scored_at, s.client_id) > (than.scored_at, than.client_id)


_DECIMAL = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")


def _number(value: float | str) -> float | None:
    """A score's value as a finite number (a number written as a string too, as JSON writes
    numbers), else None."""
    if isinstance(value, str):
        if not _DECIMAL.fullmatch(value):
            return None
        value = float(value)
    return value if math.isfinite(value) else None


def _fault(
    s: ScoreIn,
    rnd: ObservationRound,
    rubric: dict[str, Decimal],
    names: dict[str, str],
    scope: dict[uuid.UUID, _Scope],
    codes: dict[uuid.UUID, str],
    inspector_path: str,
    now: datetime,
    *,
    paper: bool = False,
) -> tuple[str, str] | None:
    """Why one score cannot count ((error, detail) a person can act on), or None. A paper sheet
    the office enters is taken after the grace period too: it was filled in inside the window."""
    if s.criterion not in rubric:
        keys = tr(", ").join(names.values())
        return "unknown-criterion", tr(
            "{key} is not in the round's rubric ({keys})", key=s.criterion, keys=keys
        )
    value = _number(s.value)
    if value is None:
        return "value-not-a-number", tr("the value must be a number, not {value}", value=repr(s.value))
    if not 0 <= value <= rubric[s.criterion]:
        return "value-out-of-range", tr(
            "{key} is scored from 0 to {max}, not {value}",
            key=names[s.criterion],
            max=rubric[s.criterion],
            value=s.value,
        )
    found = scope.get(s.project_id)
    if found is None:
        return "project-not-in-round", tr(
            "project {id} is not observed in this round", id=codes.get(s.project_id, s.project_id)
        )
    if conflicted(inspector_path, found):
        return "conflict-of-interest", tr(
            "you belong to a unit of project {code} (its region, owner or responsible unit): "
            "you may not score it",
            code=found.code,
        )
    if s.scored_at > now + CLOCK_SKEW:
        return "scored-in-future", tr(
            "scored_at {at} is in the future: check the phone's clock", at=s.scored_at
        )
    if not rnd.opens_at <= s.scored_at <= rnd.closes_at:
        return "outside-window", tr(
            "scored_at {at} is outside the round's window ({opens} to {closes})",
            at=s.scored_at,
            opens=rnd.opens_at,
            closes=rnd.closes_at,
        )
    if now > accepting_until(rnd) and not paper:
        return "round-closed", tr(
            "the round closed at {closes}; scores taken in it were taken until {until} ({hours} h of grace)",
            closes=rnd.closes_at,
            until=accepting_until(rnd),
            hours=rnd.grace_hours,
        )
    return None


async def _inspector(session: AsyncSession, rnd: ObservationRound, user_id: uuid.UUID) -> Any:
    """The round's inspector with that id and their unit's path, or None."""
    return (
        await session.execute(
            select(AppUser, col(Unit.path))
            .join(Unit, col(Unit.id) == col(AppUser.unit_id))
            .join(RoundInspector, col(RoundInspector.user_id) == col(AppUser.id))
            .where(col(RoundInspector.round_id) == rnd.id, col(AppUser.id) == user_id)
        )
    ).first()


async def assignments(
    session: AsyncSession, *, rnd: ObservationRound, principal: Principal, inspector_user_id: uuid.UUID
) -> AssignmentsOut:
    """What an inspector has left to score, per project and criterion (a phone resumes from it);
    projects they may not score (a conflict of interest) are left out. Inspectors ask for their
    own; the program's office for anyone's."""
    if inspector_user_id != principal.id and not await is_office(session, rnd, principal):
        raise Forbidden(tr(OFFICE_ONLY))
    found = await _inspector(session, rnd, inspector_user_id)
    if found is None:
        raise Forbidden(
            tr("You are not an inspector of this round.")
            if inspector_user_id == principal.id
            else tr("{id} is not an inspector of this round.", id=inspector_user_id)
        )
    inspector, inspector_path = found
    scope = await _in_scope(session, rnd, None)
    done: dict[uuid.UUID, set[str]] = {}
    rows = await session.execute(
        text(
            "SELECT project_id, criterion FROM observation_score WHERE round_id = :round "
            "AND inspector_id = :inspector"
        ),
        {"round": rnd.id, "inspector": inspector.id},
    )
    for project_id, criterion in rows:
        done.setdefault(project_id, set()).add(criterion)
    data: list[Assignment] = []
    for project_id, project in scope.items():
        if conflicted(inspector_path, project):
            continue
        scored = done.get(project_id, set())
        left = [CriterionLeft(key=c["key"], name=c["name"]) for c in rnd.rubric if c["key"] not in scored]
        data.append(
            Assignment(
                project_id=project_id, code=project.code, name=project.name, scored=len(scored), left=left
            )
        )
    return AssignmentsOut(
        round_id=rnd.id,
        inspector_user_id=inspector.id,
        state=RoundState(rnd.state),
        accepting_until=accepting_until(rnd),
        data=data,
        count=len(data),
        complete=sum(not a.left for a in data),
    )


async def _ready(session: AsyncSession, rnd: ObservationRound, version: int | None) -> RoundSnapshot:
    """The snapshot asked for (the latest by default) of a closed round, or 409 while the ranker
    has not finished the first one."""
    _closed_first(rnd)
    found = await snapshot_of(session, rnd.id, version)
    if found is None:
        raise InvalidState(tr("The round's results are still being computed; ask again in a moment."))
    return found


async def is_office(session: AsyncSession, rnd: ObservationRound, principal: Principal) -> bool:
    """The program's office (its admins and staff) sees all of a round's results and working."""
    return can(principal, Action.PROGRAMS_WRITE) and await holds(session, Program, rnd.program_id, principal)


async def _disclosed(
    session: AsyncSession, rnd: ObservationRound, principal: Principal, version: int | None
) -> tuple[int | None, bool]:
    """The version the principal may read and whether they see the inspectors: the office, any
    version and everything; anyone else (the units scored, leaders, auditors) only the published
    version, without any inspector's own scores, names or severity."""
    if await is_office(session, rnd, principal):
        return version, True
    if rnd.published_version is None or version not in (None, rnd.published_version):
        raise Forbidden(
            tr("The office has not published these results yet: they are the office's until it does.")
            if rnd.published_version is None
            else tr("Only the published version ({version}) is open to you.", version=rnd.published_version)
        )
    return rnd.published_version, False


def _without_inspectors(row: dict[str, Any]) -> dict[str, Any]:
    return row | {"trimmed_inspectors": [], "incomplete_inspectors": []}


def _state(rnd: ObservationRound, snapshot: RoundSnapshot) -> Literal["ready", "published"]:
    return "published" if rnd.published_version == snapshot.version else "ready"


def _closed_first(rnd: ObservationRound) -> None:
    if rnd.state in (RoundState.DRAFT, RoundState.OPEN):
        raise InvalidState(
            tr(
                "The round is {state}: it has results once the office closes it.",
                state=word(RoundState, rnd.state),
            )
        )


async def results(
    session: AsyncSession, *, rnd: ObservationRound, by: Grouping, version: int | None, principal: Principal
) -> ProjectResults | GroupResults:
    """A snapshot's ranking (the latest unless a version is asked for); `computing` while the
    ranker has not finished the first one. Outside the office: the published version only, with
    no inspector named."""
    _closed_first(rnd)
    version, full = await _disclosed(session, rnd, principal, version)
    snapshot = await snapshot_of(session, rnd.id, version)
    if snapshot is None:
        if version is not None:
            raise NotFound(tr("This round has no results version {version}.", version=version))
        if by == "project":
            return ProjectResults(round_id=rnd.id, snapshot_version=None, state="computing", by=by, rows=[])
        return GroupResults(round_id=rnd.id, snapshot_version=None, state="computing", by=by, rows=[])
    return await _results(session, rnd, snapshot, by, full=full)


async def _results(
    session: AsyncSession, rnd: ObservationRound, snapshot: RoundSnapshot, by: Grouping, *, full: bool = True
) -> ProjectResults | GroupResults:
    """The snapshot's rows by project, unit or region; with full disclosure (the office) the
    inspectors in the fairness figures are named, otherwise none is listed."""
    doc = RoundResults.of(snapshot)
    fairness = doc.fairness.model_dump(exclude_unset=True)
    if full:
        ids = [uuid.UUID(i["inspector_id"]) for i in fairness["inspectors"]]
        names = dict(
            (await session.execute(
                select(col(AppUser.id), col(AppUser.display_name)).where(col(AppUser.id).in_(ids))
            )).all()
        ) if ids else {}  # fmt: skip
        for i in fairness["inspectors"]:
            i["inspector"] = names.get(uuid.UUID(i["inspector_id"]))
    else:
        fairness["inspectors"] = []
    common = {
        "round_id": rnd.id,
        "snapshot_version": snapshot.version,
        "state": _state(rnd, snapshot),
        "digest": snapshot.digest,
        "computed_at": snapshot.computed_at,
        "fairness": Fairness.model_validate(fairness),
    }
    if by == "project":
        listed = [r.model_dump() for r in doc.projects]
        rows = listed if full else [_without_inspectors(r) for r in listed]
        return ProjectResults(**common, by=by, rows=[ProjectRow.model_validate(r) for r in rows])
    groups = doc.units if by == "unit" else doc.regions
    return GroupResults(**common, by=by, rows=[GroupRow.model_validate(r.model_dump()) for r in groups])


async def explain(
    session: AsyncSession,
    *,
    rnd: ObservationRound,
    project_id: uuid.UUID,
    version: int | None,
    principal: Principal,
) -> ExplainOut:
    """The working for one project: each inspector's score, trimmed or not, z-scores, the
    components, the composite and what a tie would be broken by. Outside the office: the published
    version, the sums without any inspector's own score."""
    _closed_first(rnd)
    version, full = await _disclosed(session, rnd, principal, version)
    snapshot = await _ready(session, rnd, version)
    doc = RoundResults.of(snapshot)
    found = next((r for r in doc.projects if r.id == str(project_id)), None)
    if found is None:
        raise not_visible(tr("project"), project_id)
    row = found.model_dump()
    kept = await session.get(SnapshotRatings, (snapshot.id, project_id))
    # the values the ranking used: adjusted for the inspectors' effects (when the design let the
    # ranker fit them), z-mapped, or the scores as they are
    adjusted = kept.adjusted if kept and kept.adjusted is not None else None
    zscore = adjusted is None and RoundSettings.of(rnd).aggregation.normalize == "zscore"
    names = dict(
        (await session.execute(
            select(col(AppUser.id), col(AppUser.display_name)).where(col(AppUser.id).in_(kept.inspector_ids))
        )).all()
    ) if kept else {}  # fmt: skip
    on_paper = set(
        await session.scalars(
            select(col(ObservationScore.inspector_id)).where(
                col(ObservationScore.round_id) == rnd.id,
                col(ObservationScore.project_id) == project_id,
                col(ObservationScore.entered_by_office),
            )
        )
    )
    ratings = sorted(
        (
            Rating(
                inspector_id=inspector,
                inspector=names.get(inspector, ""),
                entered_by_office=inspector in on_paper,
                score=cents(score),
                z=None if z is None else cents(z),
                adjusted=None if fitted is None else cents(fitted),
                complete=complete,
                trimmed=trimmed,
                counted=complete and not trimmed,
            )
            for inspector, score, z, fitted, complete, trimmed in zip(
                kept.inspector_ids,
                kept.scores,
                kept.z,
                adjusted or [None] * len(kept.scores),
                kept.complete,
                kept.trimmed,
                strict=True,
            )
        )
        if kept
        else [],
        key=lambda r: (-r.score, str(r.inspector_id)),
    )
    settings = doc.settings.model_dump()
    settings["as_of"] = answered(datetime.fromisoformat(settings["as_of"]))  # the document keeps UTC
    counted = [r for r in ratings if r.counted]
    weights = settings["objective_weights"]
    values = (adjusted if adjusted is not None else kept.z if zscore else kept.scores) if kept else []
    used = [
        Decimal(str(value))
        for value, complete, trimmed in zip(values, kept.complete, kept.trimmed, strict=True)
        if complete and not trimmed and value is not None
    ] if kept else []  # fmt: skip
    mapped = "adjusted " if adjusted is not None else "z-mapped " if zscore else ""
    observation = sum(used, Decimal(0)) / len(used) if used else None
    terms = [(Decimal(settings["observation_weight"]), "observation", observation)] + [
        (Decimal(weights[k]), str(k), _decimal(row["components"][k])) for k in COMPONENTS if k in weights
    ]  # the registry's order, as the workbooks list them; each to ten places, so they add up
    working = [
        f"observation = mean of {len(counted)} {mapped}scores"
        + (f", {len(row['trimmed_inspectors'])} trimmed" if row["trimmed_inspectors"] else "")
        + (
            f" = {_places(observation)} → {row['components']['observation']}"
            if observation is not None
            else ""
        ),
    ]
    if observation is None or row["score"] is None:
        working.append(
            "not ranked: no inspector scored every criterion of it"
            if not row.get("raters")
            else "not ranked: trimming left none of its ratings"
        )
    else:
        shown = [(w, name, v, (w * v).quantize(TEN_PLACES)) for w, name, v in terms if v is not None]
        total = sum((t for *_, t in shown), Decimal(0))
        said = " + ".join(f"{w} × {name} {_places(v)} ({t})" for w, name, v, t in shown)
        scale = sum((w for w, *_ in shown), Decimal(0))
        if scale != 1:  # a part not applicable to the project: the others weighed up to 1
            missing = ", ".join(name for _, name, v in terms if v is None)
            total = (total / scale).quantize(TEN_PLACES)
            said = f"({said}) ÷ {scale} ({missing} not applicable: no annual plan)"
        working.append(f"composite = {said} = {total} → {row['score']} (half up, to the cent)")
    tie = row["components"].get(settings["tie_break"])
    working.append(f"ties are broken by {settings['tie_break']} = {'not applicable' if tie is None else tie}")
    if not full:
        row, ratings = _without_inspectors(row), []
    return ExplainOut(
        round_id=rnd.id,
        snapshot_version=snapshot.version,
        project=ProjectRow.model_validate(row),
        ratings=ratings,
        settings=settings,
        working=working,
    )


async def publish(
    session: AsyncSession,
    *,
    rnd: ObservationRound,
    version: int,
    principal: Principal,
    by: Grouping = "project",
) -> ProjectResults | GroupResults:
    """Publish the latest ready snapshot: the round is published and `round.published` tells the
    notifier (praise for the top, criticism for the bottom) and the webhooks. Answers the results
    as GET …/results does (by project unless asked)."""
    await owned_or_403(session, Program, rnd.program_id, principal, OFFICE_ONLY)
    # one publication at a time: of two at once, the second sees the first's and answers 409
    await session.refresh(rnd, with_for_update=True)
    _closed_first(rnd)
    latest = await snapshot_of(session, rnd.id)
    if latest is None or latest.version != version:
        raise InvalidState(
            tr("Only the latest results can be published: version {latest}, not {version}.",
               latest=latest.version if latest else "—", version=version)
        )  # fmt: skip
    if rnd.published_version == version:
        raise InvalidState(tr("Version {version} is already published.", version=version))
    rnd.state = RoundState.PUBLISHED
    rnd.published_version = version
    rnd.published_at = clock.now()
    rnd.published_by = principal.key
    rnd.version += 1
    units = RoundResults.of(latest).units
    event = RoundPublished(
        round_id=rnd.id,
        program_id=rnd.program_id,
        quarter=f"{rnd.quarter[:4]}-{rnd.quarter[4:]}",
        version=version,
        units=[
            RankedUnit(
                unit_id=uuid.UUID(u.id),
                rank=u.rank or 0,
                score=Decimal(u.score or 0),
                distinguishable=u.distinguishable,
            )
            for u in units
        ],
        praise_top=rnd.praise_top,
        criticise_bottom=rnd.criticise_bottom,
    )
    await publish_event(
        session,
        event=WebhookEvent.ROUND_PUBLISHED,
        subject_type="round",
        subject_id=rnd.id,
        data=event.model_dump(mode="json"),
    )
    await session.flush()
    await _audit(session, rnd, principal, "round.published")
    return await _results(session, rnd, latest, by)


def _other_year(program: Program, year: int | None) -> list[tuple[list[str | int], str]]:
    """A program is assessed for its own year: another year has no rounds to grade, and an empty
    answer would read as nobody assessed."""
    if year is None or year == program.year:
        return []
    return [(["year"], tr("{program} is the program of {year}: assess it for {year}", program=program.name,
                          year=program.year))]  # fmt: skip


def _program_year(program: Program, year: int, *, query: bool) -> None:
    for _, said in _other_year(program, year):
        raise query_error("year", said) if query else field_error("year", said)


async def _held(session: AsyncSession, principal: Principal, program_id: Any) -> Program | None:
    """The program when the caller's office holds it (for rules run beside the schema's faults)."""
    program = await session.get(Program, program_id) if program_id else None
    return program if program is not None and await holds(session, Program, program.id, principal) else None


async def assessment(
    session: AsyncSession, *, program: Program, year: int, half: int | None
) -> AssessmentOut:
    """The period's assessment as of now (from the published rounds), and the latest version
    published."""
    _program_year(program, year, query=True)
    document = await assessment_of(session, program, year, half)
    latest = await latest_published(session, program.id, year, half)
    published = (
        Publication(
            version=latest.version,
            published_at=latest.published_at,
            published_by=latest.published_by,
            units=latest.document["units"],
        )
        if latest
        else None
    )
    return AssessmentOut.model_validate({**document, "published": published})


async def assessment_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> list[tuple[list[str | int], str]]:
    """A year not the program's, for a body whose other field failed the schema."""
    program = await _held(session, principal, path.get("program_id"))
    return [] if program is None else _other_year(program, fields.get("year"))


async def publish_assessment(
    session: AsyncSession, *, program: Program, data: AssessmentIn, principal: Principal
) -> AssessmentQueued:
    """Ask the ranker to freeze and announce the period's assessment (once this commits)."""
    await owned_or_403(session, Program, program.id, principal, OFFICE_ONLY)
    _program_year(program, data.year, query=False)
    document = await assessment_of(session, program, data.year, data.half)
    if not document["rounds"]:
        raise InvalidState(
            tr(
                "No round of {period} has been published yet: there is nothing to assess.",
                period=str(data.year) + (" H" + str(data.half) if data.half else ""),
            )
        )
    order = PublishAssessmentPayload(
        program_id=program.id, year=data.year, half=data.half, requested_by=principal.key
    )
    await add_message(
        session, producer="api", target=Target.RANKER, job=Job.PUBLISH_ASSESSMENT, payload=order
    )
    await audit.record(
        session,
        actor=principal.actor,
        action="assessment.publish",
        entity="program",
        entity_id=program.id,
        unit_id=program.office_unit_id,
        after={"year": data.year, "half": data.half},
    )
    return AssessmentQueued(
        program_id=program.id,
        year=data.year,
        half=data.half,
        detail=tr("The assessment is being published: GET it again in a moment to see the version."),
    )


async def results_workbook(
    session: AsyncSession, *, rnd: ObservationRound, version: int | None, principal: Principal
) -> bytes:
    _closed_first(rnd)
    version, _ = await _disclosed(session, rnd, principal, version)
    snapshot = await _ready(session, rnd, version)
    return excel.results(
        RoundResults.of(snapshot), name=rnd.name, version=snapshot.version, state=_state(rnd, snapshot)
    )


async def assessment_workbook(
    session: AsyncSession, *, program: Program, year: int, half: int | None
) -> bytes:
    _program_year(program, year, query=True)
    return excel.assessment(await assessment_of(session, program, year, half), program=program.name)


async def _year_end_problems(
    session: AsyncSession, principal: Principal, program: Program, fields: dict[str, Any]
) -> list[tuple[list[str | int], str]]:
    """Every fault of a year-end evaluation the schema cannot see, over the fields given: a year
    not the program's, a unit out of sight, evaluated twice, or responsible for none of its
    projects."""
    problems = _other_year(program, fields.get("year"))
    scores = fields.get("scores") or []
    problems += await unseen_units(
        session, principal, [(["scores", i, "unit_id"], s.unit_id) for i, s in enumerate(scores)]
    )
    problems += [
        (["scores", i, "unit_id"], tr("unit {id} is evaluated twice", id=unit))
        for i, unit in _repeats(s.unit_id for s in scores)
    ]
    assessed = set(
        await session.scalars(
            select(col(Project.responsible_unit_id)).where(col(Project.program_id) == program.id).distinct()
        )
    )
    said_at = {tuple(loc) for loc, _ in problems}
    problems += [
        (["scores", i, "unit_id"],
         tr("unit {id} is responsible for no project of this program: it is not assessed", id=s.unit_id))
        for i, s in enumerate(scores)
        if s.unit_id not in assessed and ("scores", i, "unit_id") not in said_at
    ]  # fmt: skip
    return problems


async def year_end_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any]
) -> list[tuple[list[str | int], str]]:
    """`_year_end_problems` for an evaluation whose other fields failed the schema."""
    program = await _held(session, principal, path.get("program_id"))
    return [] if program is None else await _year_end_problems(session, principal, program, fields)


async def evaluate_year_end(
    session: AsyncSession, *, program: Program, data: YearEndIn, principal: Principal
) -> AssessmentOut:
    """Record the office's year-end evaluation of units it can see; the year's assessment with it."""
    await owned_or_403(session, Program, program.id, principal, OFFICE_ONLY)
    if problems := await _year_end_problems(session, principal, program, dict(data)):
        raise invalid(problems)
    now = clock.now()
    rows = [
        {"program_id": program.id, "year": data.year, "unit_id": s.unit_id, "score": s.score,
         "entered_by": principal.key, "entered_at": now}
        for s in data.scores
    ]  # fmt: skip
    stmt = insert(YearEndEvaluation).values(rows)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["program_id", "year", "unit_id"],
            set_={"score": stmt.excluded.score, "entered_by": stmt.excluded.entered_by,
                  "entered_at": stmt.excluded.entered_at},
        )
    )  # fmt: skip
    await audit.record(
        session,
        actor=principal.actor,
        action="assessment.year_end",
        entity="program",
        entity_id=program.id,
        unit_id=program.office_unit_id,
        after={"year": data.year, "scores": {str(s.unit_id): str(s.score) for s in data.scores}},
    )
    return await assessment(session, program=program, year=data.year, half=None)
