"""Quarterly observation rounds (观摩评比): set up, open, score from phones, close."""

from typing import Annotated
from uuid import UUID

from fastapi import Query, Response, status

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.auth.scope import get_visible
from services.api.pagination import Page, PageDep
from services.api.records import ProgramDep, RoundDep
from services.api.rounds import service
from services.api.rounds.schemas import (
    AssessmentIn,
    AssessmentOut,
    AssessmentQueued,
    AssignmentsOut,
    ExplainOut,
    Grouping,
    GroupResults,
    ProjectResults,
    PublishIn,
    ResultsOut,
    RoundIn,
    RoundPublic,
    ScoresIn,
    ScoresOut,
    SheetIn,
    YearEndIn,
)
from services.api.routing import SessionDep, router
from services.api.uploads import XLSX
from services.api.validation import also_checked
from shared.i18n import N_
from shared.models import Program
from shared.vocabulary import RoundState

rounds = router(prefix="/rounds", tags=["observation rounds"])
assessments = router(prefix="/programs", tags=["observation rounds"])
Reader = Annotated[Principal, authorize(Action.PROGRAMS_READ)]
Version = Annotated[
    int | None, Query(ge=1, le=2**31 - 1, description="a snapshot version (default: the latest)")
]
Year = Annotated[int, Query(ge=2000, le=2100)]
Half = Annotated[int | None, Query(ge=1, le=2, description="1 or 2 for a half-year; none: the year")]
Office = Annotated[Principal, authorize(Action.PROGRAMS_WRITE)]


@rounds.get("", response_model=Page[RoundPublic])
async def list_rounds(
    session: SessionDep, principal: Reader, page: PageDep, program_id: UUID | None = None
) -> Page[RoundPublic]:
    """Rounds of the programs you see, latest first."""
    rows, count = await service.list_rounds(session, principal=principal, page=page, program_id=program_id)
    return Page(data=rows, count=count)


@rounds.post("", response_model=RoundPublic, status_code=status.HTTP_201_CREATED)
@also_checked(RoundIn, service.round_checks)
async def create_round(data: RoundIn, session: SessionDep, principal: Office) -> RoundPublic:
    """Set up a quarter's round as a draft: its window, rubric, projects (approved ones of the
    program), inspectors (people with the inspector or leader role) and how it is scored.
    Observation and objective weights must sum to 1."""
    program = await get_visible(session, Program, data.program_id, principal, N_("program"))
    rnd = await service.create_round(session, data=data, program=program, principal=principal)
    return await service.to_public(session, rnd)


@rounds.get("/{round_id:uuid}", response_model=RoundPublic)
async def get_round(session: SessionDep, principal: Reader, rnd: RoundDep) -> RoundPublic:
    return await service.to_public(session, rnd)


@rounds.post("/{round_id:uuid}/open", response_model=RoundPublic)
async def open_round(session: SessionDep, principal: Office, rnd: RoundDep) -> RoundPublic:
    """Open a draft round: its inspectors may score (scores taken inside its window)."""
    await service.move(session, rnd=rnd, principal=principal, to=RoundState.OPEN)
    return await service.to_public(session, rnd)


@rounds.post("/{round_id:uuid}/close", response_model=RoundPublic, status_code=status.HTTP_202_ACCEPTED)
async def close_round(session: SessionDep, principal: Office, rnd: RoundDep) -> RoundPublic:
    """Close an open round. Scores taken inside the window still arrive during its grace period
    (a phone that was offline)."""
    await service.move(session, rnd=rnd, principal=principal, to=RoundState.CLOSED)
    return await service.to_public(session, rnd)


@rounds.post("/{round_id:uuid}/scores", response_model=ScoresOut)
async def post_scores(
    data: ScoresIn,
    session: SessionDep,
    principal: Reader,
    rnd: RoundDep,
) -> ScoresOut:
    """An inspector's batch of scores (at most 500; send an `Idempotency-Key`). Each score
    gets a result: `accepted`, `duplicate` (its `client_id` was taken before), `superseded` (a
    score of the same criterion taken later stands) or `rejected` with the reason; one bad score
    does not sink the batch. A score taken later (`scored_at`) replaces an earlier one; one taken
    earlier and arriving later changes nothing."""
    return await service.record_scores(session, rnd=rnd, principal=principal, scores=data.scores)


@rounds.post("/{round_id:uuid}/sheets", response_model=ScoresOut)
@also_checked(SheetIn, service.sheet_checks)
async def post_sheet(data: SheetIn, session: SessionDep, principal: Office, rnd: RoundDep) -> ScoresOut:
    """An inspector's paper score sheet, entered by the program's office (audited): each line
    counts as the inspector's score taken when the sheet was filled in (`scored_at`, inside the
    round's window), also after the grace period, and shows as `entered_by_office` in explain.
    The same `sheet_id` entered again changes nothing; each line gets a result as a phone's
    score does."""
    return await service.record_sheet(session, rnd=rnd, principal=principal, sheet=data)


@rounds.get("/{round_id:uuid}/assignments", response_model=AssignmentsOut)
async def get_assignments(
    session: SessionDep,
    principal: Reader,
    rnd: RoundDep,
    inspector_user_id: UUID | None = None,
) -> AssignmentsOut:
    """What is left to score, per project and criterion: yours, or (for the program's office)
    any inspector's. A phone resumes from it after a crash."""
    return await service.assignments(
        session, rnd=rnd, principal=principal, inspector_user_id=inspector_user_id or principal.id
    )


@rounds.get("/{round_id:uuid}/results", response_model=ResultsOut)
async def get_results(
    session: SessionDep,
    principal: Reader,
    rnd: RoundDep,
    by: Grouping = "project",
    version: Version = None,
) -> ProjectResults | GroupResults:
    """The round's ranking by project, responsible unit or region, with the fairness figures
    (each inspector's severity, the round's agreement); `computing` until the ranker is done."""
    return await service.results(session, rnd=rnd, by=by, version=version, principal=principal)


@rounds.get(
    "/{round_id:uuid}/results.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}}
)
async def results_workbook(
    session: SessionDep,
    principal: Reader,
    rnd: RoundDep,
    version: Version = None,
) -> Response:
    """The results as a print-ready workbook: 项目排名 (名次, 项目编号, 项目名称, 责任单位, 观摩得分,
    投资完成率, 节点完成率, 报送及时率, 综合得分, 有效评分人数), 单位排名 and 地区排名."""
    content = await service.results_workbook(session, rnd=rnd, version=version, principal=principal)
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": "attachment; filename*=UTF-8''round-results.xlsx"},
    )


@rounds.get("/{round_id:uuid}/results/{project_id:uuid}/explain", response_model=ExplainOut)
async def explain(
    project_id: UUID,
    session: SessionDep,
    principal: Reader,
    rnd: RoundDep,
    version: Version = None,
) -> ExplainOut:
    """How one project's score was reached: each inspector's score (trimmed or not, z-mapped
    when the round normalizes), the components, the composite, the tie-break."""
    return await service.explain(
        session, rnd=rnd, project_id=project_id, version=version, principal=principal
    )


@rounds.post("/{round_id:uuid}/publish", response_model=ResultsOut)
async def publish(
    data: PublishIn, session: SessionDep, principal: Office, rnd: RoundDep, by: Grouping = "project"
) -> ProjectResults | GroupResults:
    """Publish a version of the results: only the latest one the ranker finished (409 else).
    The notifier then praises the top units and sends the bottom a criticism bulletin. Answers
    the published results as GET …/results does, by project unless `by` says otherwise."""
    return await service.publish(session, rnd=rnd, version=data.snapshot_version, principal=principal, by=by)


@assessments.get("/{program_id:uuid}/assessment", response_model=AssessmentOut)
async def get_assessment(
    session: SessionDep,
    principal: Reader,
    program: ProgramDep,
    year: Year,
    half: Half = None,
) -> AssessmentOut:
    """Half-year or annual scores and grades of the program's responsible units (excellent 优良,
    pass 合格, fail 不合格), from its published rounds, with the latest version published."""
    return await service.assessment(session, program=program, year=year, half=half)


@assessments.put("/{program_id:uuid}/assessment/year-end", response_model=AssessmentOut)
@also_checked(YearEndIn, service.year_end_checks)
async def put_year_end(
    data: YearEndIn, session: SessionDep, principal: Office, program: ProgramDep
) -> AssessmentOut:
    """The office's year-end evaluation (年终考评) of responsible units, 0–100: with the program's
    `assessment.year_end_weight` it is that share of each unit's annual score (a unit not
    evaluated is scored on its rounds alone). Answers the year's assessment with it."""
    return await service.evaluate_year_end(session, program=program, data=data, principal=principal)


@assessments.post(
    "/{program_id:uuid}/assessment/publish",
    response_model=AssessmentQueued,
    status_code=status.HTTP_202_ACCEPTED,
)
@also_checked(AssessmentIn, service.assessment_checks)
async def publish_assessment(
    data: AssessmentIn, session: SessionDep, principal: Office, program: ProgramDep
) -> AssessmentQueued:
    """Publish the period's assessment: the ranker freezes it as a new version and announces
    `assessment.published` (the notifier refers each failing unit for accountability)."""
    return await service.publish_assessment(session, program=program, data=data, principal=principal)


@assessments.get(
    "/{program_id:uuid}/assessment.xlsx", response_class=Response, responses={200: {"content": {XLSX: {}}}}
)
async def assessment_workbook(
    session: SessionDep,
    principal: Reader,
    program: ProgramDep,
    year: Year,
    half: Half = None,
) -> Response:
    """The assessment as a print-ready workbook (名次, 责任单位, 考核得分, 等次, each quarter's score)."""
    content = await service.assessment_workbook(session, program=program, year=year, half=half)
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": "attachment; filename*=UTF-8''assessment.xlsx"},
    )
