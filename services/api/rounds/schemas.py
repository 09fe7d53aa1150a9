"""Observation round request and response bodies (API.md "Observation rounds and results")."""

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictFloat, StrictStr, field_validator

from shared.dates import Stamp
from shared.numbers import Cents
from shared.rounds import Aggregation, Criterion, RoundSettings
from shared.vocabulary import Grade, ObjectiveComponent, RoundState

MAX_BATCH = 500


class RoundIn(RoundSettings):
    """A quarter's observation round, created as a draft; `POST /rounds/{id}/open` opens it. How
    it is scored (rubric, aggregation, weights, tie-break, praise and criticism) is
    shared.rounds.RoundSettings, as the ranker reads it."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    program_id: UUID
    name: str = Field(min_length=1, max_length=200, examples=["2018年第三季度观摩评比"])
    quarter: str = Field(pattern=r"^\d{4}-?Q[1-4]$", examples=["2018Q3"])
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    grace_hours: int = Field(
        default=24, ge=0, le=24 * 14, description="scores taken in the window may arrive this long after it"
    )
    project_ids: list[UUID] = Field(min_length=1, max_length=20_000)
    inspector_user_ids: list[UUID] = Field(min_length=1, max_length=1000)

    @field_validator("quarter")
    @classmethod
    def _compact(cls, quarter: str) -> str:
        return quarter.replace("-", "")


class RoundPublic(BaseModel):
    id: UUID
    program_id: UUID
    name: str
    quarter: str
    opens_at: Stamp
    closes_at: Stamp
    grace_hours: int
    rubric: list[Criterion]
    project_ids: list[UUID]
    inspector_user_ids: list[UUID]
    aggregation: Aggregation
    observation_weight: Decimal
    objective_weights: dict[ObjectiveComponent, Decimal]
    tie_break: ObjectiveComponent
    praise_top: int
    criticise_bottom: int
    state: RoundState
    version: int
    created_by: str
    created_at: Stamp
    opened_at: Stamp | None
    closed_at: Stamp | None


class ScoreIn(BaseModel):
    """One criterion of one project, as the phone took it. Range and scope are checked per item:
    a bad item is rejected with its reason, the rest of the batch still counts."""

    model_config = ConfigDict(extra="forbid")

    client_id: UUID = Field(description="the phone's id for this score: a resend is a duplicate")
    project_id: UUID
    criterion: str = Field(min_length=1, max_length=64)
    value: StrictFloat | StrictStr = Field(
        description="0 to the criterion's max_score: a JSON number (or one written as a string); "
        "anything else is this score's rejection (value-not-a-number), not the batch's",
    )
    scored_at: AwareDatetime = Field(description="when the inspector took it (not when it was sent)")


class SheetLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_id: UUID
    criterion: str = Field(min_length=1, max_length=64)
    value: StrictFloat | StrictStr = Field(
        description="0 to the criterion's max_score: a JSON number (or one written as a string)"
    )


class SheetIn(BaseModel):
    """An inspector's paper score sheet, entered by the office: the sheet's id (a resend is a
    duplicate), the inspector, when the sheet was filled in (inside the round's window)."""

    model_config = ConfigDict(extra="forbid")

    sheet_id: UUID = Field(description="the office's id for this sheet: entering it again changes nothing")
    inspector_user_id: UUID
    scored_at: AwareDatetime = Field(description="when the inspector filled in the sheet (inside the window)")
    lines: list[SheetLine] = Field(min_length=1, max_length=500)


class ScoresIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scores: list[ScoreIn] = Field(min_length=1, description=f"at most {MAX_BATCH} a batch")


ItemStatus = Literal["accepted", "duplicate", "superseded", "rejected"]


class ScoreResult(BaseModel):
    client_id: UUID
    status: ItemStatus = Field(
        description="accepted: it stands; duplicate: sent before; superseded: a score of the same "
        "criterion taken later stands instead; rejected: see error and detail"
    )
    error: str | None = None
    detail: str | None = None


class Rejected(BaseModel):
    client_id: UUID
    error: str = Field(examples=["value-out-of-range"])
    detail: str


class ScoresOut(BaseModel):
    accepted: int
    duplicates: int
    superseded: int
    rejected: list[Rejected]
    items: list[ScoreResult] = Field(description="one per score sent, in the order sent")


class CriterionLeft(BaseModel):
    key: str
    name: str


class Assignment(BaseModel):
    project_id: UUID
    code: str
    name: str
    scored: int = Field(description="criteria scored")
    left: list[CriterionLeft] = Field(description="criteria still to score")


class AssignmentsOut(BaseModel):
    round_id: UUID
    inspector_user_id: UUID
    state: RoundState
    accepting_until: Stamp = Field(description="the last instant a score taken in the window is taken")
    data: list[Assignment]
    count: int
    complete: int = Field(description="projects fully scored")


class _Row(BaseModel):
    rank: int | None = Field(description="none: nobody scored the project completely")
    id: UUID
    name: str
    score: Cents | None = Field(description="the composite, to the cent")
    rank_interval: list[int] | None = Field(
        default=None,
        description="[best, worst]: the 2.5th to 97.5th percentile of its rank in a seeded bootstrap over "
        "inspectors (informs; the rank stays the rules')",
    )
    distinguishable: bool = Field(
        default=True,
        description="false: in the praise or criticism list, but its rank interval crosses the cut-off",
    )


class ProjectRow(_Row):
    code: str
    responsible_unit_id: UUID
    region_unit_id: UUID
    components: dict[str, Cents | None] = Field(
        description="observation and each objective component; none: not applicable to the project"
    )
    raters: int = Field(description="inspectors with a complete rubric")
    trimmed_inspectors: list[UUID] = Field(default_factory=list)
    incomplete_inspectors: list[UUID] = Field(default_factory=list)


class GroupRow(_Row):
    """A responsible unit or a region: the mean of its projects' composites."""

    projects: int = Field(description="its projects ranked")


class Severity(BaseModel):
    inspector_id: UUID
    inspector: str | None = Field(default=None, description="the inspector's name (the office reads it)")
    severity: Cents | None = Field(
        description="the inspector's effect, fitted jointly with every project's quality by least squares "
        "(score = project + inspector), centred at 0: + lenient, − harsh; none: shares no project with "
        "another inspector (results before 2026-12 hold own-minus-others deviations)"
    )
    standard_error: Cents | None = Field(default=None, description="of the effect; none: too few ratings")
    projects: int = Field(description="projects it scored completely")
    shared_projects: int | None = Field(default=None, description="of those, scored by another too")


class RaterEffects(BaseModel):
    model: str
    groups: int = Field(description="groups of inspectors connected through shared projects; 1: connected")
    residual_sd: Cents | None
    applied: bool = Field(description="whether the ranking uses the adjusted scores")


class Agreement(BaseModel):
    method: str
    value: Decimal | None = Field(description="1 full agreement, 0 none beyond chance; none: too few ratings")
    projects: int


class Bootstrap(BaseModel):
    resamples: int
    seed: int
    interval: str


class Fairness(BaseModel):
    agreement: Agreement
    inspectors: list[Severity]
    rater_effects: RaterEffects | None = None
    bootstrap: Bootstrap | None = None
    warnings: list[str] = Field(
        default_factory=list,
        description="what to keep in mind reading the results (z-scores under partial overlap, "
        "inspectors in groups that share no project)",
    )


Grouping = Literal["project", "unit", "region"]


class _Results(BaseModel):
    round_id: UUID
    snapshot_version: int | None
    state: Literal["computing", "ready", "published"]
    digest: str | None = Field(default=None, description="SHA-256 of the snapshot: same inputs, same digest")
    computed_at: Stamp | None = None
    fairness: Fairness | None = None


class ProjectResults(_Results):
    by: Literal["project"]
    rows: list[ProjectRow]


class GroupResults(_Results):
    by: Literal["unit", "region"]
    rows: list[GroupRow]


# one shape per `by`
ResultsOut = Annotated[ProjectResults | GroupResults, Field(discriminator="by")]


class Rating(BaseModel):
    inspector_id: UUID
    inspector: str
    entered_by_office: bool = Field(default=False, description="from a paper sheet the office entered")
    score: Cents = Field(description="100 × Σ w·(v / max) / Σ w over the rubric")
    z: Cents | None = Field(description="50 + 10·z over the inspector's projects, when normalizing")
    adjusted: Cents | None = Field(
        default=None, description="the score less the inspector's fitted effect (normalize rater_effects)"
    )
    complete: bool
    trimmed: bool
    counted: bool


class ExplainOut(BaseModel):
    round_id: UUID
    snapshot_version: int
    project: ProjectRow
    ratings: list[Rating]
    settings: dict[str, object]
    working: list[str] = Field(description="the composite, step by step")


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    snapshot_version: int = Field(ge=1, le=2**31 - 1)


class AssessedUnit(BaseModel):
    unit_id: UUID
    name: str
    score: Cents = Field(description="quarter-weighted mean of its published round scores, to the cent")
    grade: Grade = Field(description="excellent 优良, pass 合格 or fail 不合格")
    quarters: dict[str, Cents] = Field(description="its score in each published round, by quarter")
    year_end: Cents | None = Field(
        default=None, description="the office's year-end evaluation, when the year's score counts one"
    )


class AssessedRound(BaseModel):
    round_id: UUID
    quarter: str
    version: int


class Publication(BaseModel):
    version: int
    published_at: Stamp
    published_by: str
    units: list[AssessedUnit]


class AssessmentOut(BaseModel):
    program_id: UUID
    year: int
    half: int | None = Field(description="1 or 2 for a half-year; none: the year")
    rounds: list[AssessedRound] = Field(description="the published rounds it is computed from")
    thresholds: dict[str, Cents] = Field(description="excellent_from and pass_from")
    year_end_weight: float = Field(
        default=0, description="the annual score's share from the year-end evaluation"
    )
    units: list[AssessedUnit] = Field(description="as of now, best first")
    warnings: list[str] = Field(
        default_factory=list, description="what to keep in mind (a z-scored round among those averaged)"
    )
    published: Publication | None = Field(description="the latest published version, as published")


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100)
    half: int | None = Field(default=None, ge=1, le=2, description="1 or 2 for a half-year; none: the year")


class AssessmentQueued(BaseModel):
    program_id: UUID
    year: int
    half: int | None
    detail: str


class YearEndScore(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_id: UUID
    score: Decimal = Field(ge=0, le=100, max_digits=5, decimal_places=2, examples=["88.50"])


class YearEndIn(BaseModel):
    """The office's year-end evaluation (年终考评) of responsible units, 0–100; a unit sent again is
    re-evaluated."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100)
    scores: list[YearEndScore] = Field(min_length=1, max_length=2000)
