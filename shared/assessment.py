"""Half-year and annual assessment (考核) of a program's responsible units, from its published
rounds: a unit's score is the quarter-weighted mean of its scores in the published versions of
the period's rounds (a quarter's score the mean of its published rounds; program settings
`assessment.quarter_weights`, equal by default), rounded
half up to the cent; its grade is excellent (优良) from `excellent_from` (85), pass (合格) from
`pass_from` (60), fail (不合格) below. One definition: the api shows it, the ranker publishes it
(services/ranker/assessment.py)."""

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared.models import Assessment, ObservationRound, Program, RoundSnapshot, Unit, YearEndEvaluation
from shared.program_settings import ProgramSettings
from shared.ranking import RoundResults, cents
from shared.vocabulary import Grade, RoundState

HALVES = {None: ("Q1", "Q2", "Q3", "Q4"), 1: ("Q1", "Q2"), 2: ("Q3", "Q4")}


def grade(score: Decimal, settings: ProgramSettings) -> Grade:
    rules = settings.assessment
    if score >= Decimal(str(rules.excellent_from)):
        return Grade.EXCELLENT
    if score >= Decimal(str(rules.pass_from)):
        return Grade.PASS
    return Grade.FAIL


# z-scores are 50 ± 10 per inspector, not the 0–100 scale the thresholds are set on
Z_SCORED = (
    "rounds of {quarters} were z-scored (normalize zscore): their scores sit around 50 whatever the "
    "projects' quality, so grades from them are not on the scale excellent_from and pass_from assume"
)


async def compute(session: AsyncSession, program: Program, year: int, half: int | None) -> dict[str, Any]:
    """The period's assessment as of now, from the published version of each of its rounds."""
    settings = ProgramSettings.model_validate(program.settings)
    quarters = [f"{year}{q}" for q in HALVES[half]]
    rounds = (
        await session.execute(
            select(ObservationRound, RoundSnapshot)
            .join(
                RoundSnapshot,
                (col(RoundSnapshot.round_id) == col(ObservationRound.id))
                & (col(RoundSnapshot.version) == col(ObservationRound.published_version)),
            )
            .where(
                col(ObservationRound.program_id) == program.id,
                col(ObservationRound.state) == RoundState.PUBLISHED,
                col(ObservationRound.quarter).in_(quarters),
            )
            .order_by(
                col(ObservationRound.quarter), col(ObservationRound.closes_at), col(ObservationRound.id)
            )
        )
    ).all()
    weights: dict[str, float] = {str(q): w for q, w in settings.assessment.quarter_weights.items()}
    scores: dict[str, list[tuple[str, Decimal, Decimal]]] = {}
    for rnd, snapshot in rounds:
        weight = Decimal(str(weights.get(rnd.quarter[4:], 1.0)))
        for row in RoundResults.of(snapshot).units:
            scores.setdefault(row.id, []).append((rnd.quarter, Decimal(row.score or 0), weight))
    share = Decimal(str(settings.assessment.year_end_weight)) if half is None else Decimal(0)
    year_end = (
        {
            str(unit_id): score
            for unit_id, score in await session.execute(
                select(col(YearEndEvaluation.unit_id), col(YearEndEvaluation.score)).where(
                    col(YearEndEvaluation.program_id) == program.id, col(YearEndEvaluation.year) == year
                )
            )
        }
        if share
        else {}
    )
    names = dict(
        (await session.execute(
            select(col(Unit.id), col(Unit.name)).where(col(Unit.id).in_([uuid.UUID(u) for u in scores]))
        )).all()
    ) if scores else {}  # fmt: skip
    units: list[dict[str, Any]] = []
    for unit_id, parts in scores.items():
        means: dict[str, tuple[Decimal, Decimal]] = {}  # quarter → (mean of its rounds, weight)
        for q in dict.fromkeys(q for q, _, _ in parts):
            mine = [(sc, w) for quarter, sc, w in parts if quarter == q]
            means[q] = (sum((sc for sc, _ in mine), Decimal(0)) / len(mine), mine[0][1])
        total = sum((w for _, w in means.values()), Decimal(0))
        if total == 0:
            continue
        # a quarter's score is the mean of its published rounds; then the quarters are weighted
        rounds_mean = sum((m * w for m, w in means.values()), Decimal(0)) / total
        evaluated = year_end.get(unit_id)
        # a unit the office has not evaluated yet is scored on its rounds alone
        blended = rounds_mean if evaluated is None else (1 - share) * rounds_mean + share * evaluated
        score = cents(blended)
        units.append(
            {
                "unit_id": unit_id,
                "name": names.get(uuid.UUID(unit_id), ""),
                "score": str(score),
                "grade": str(grade(score, settings)),
                "quarters": {q: str(cents(m)) for q, (m, _) in means.items()},
                "year_end": None if evaluated is None else str(evaluated),
            }
        )
    units.sort(key=lambda u: (-Decimal(u["score"]), u["name"], u["unit_id"]))
    z_scored = [rnd.quarter for rnd, _ in rounds if (rnd.aggregation or {}).get("normalize") == "zscore"]
    return {
        **({"warnings": [Z_SCORED.format(quarters=", ".join(z_scored))]} if z_scored else {}),
        "program_id": str(program.id),
        "year": year,
        "half": half,
        "rounds": [
            {"round_id": str(rnd.id), "quarter": rnd.quarter, "version": snapshot.version}
            for rnd, snapshot in rounds
        ],
        "thresholds": {
            "excellent_from": settings.assessment.excellent_from,
            "pass_from": settings.assessment.pass_from,
        },
        "year_end_weight": float(share),
        "units": units,
    }


async def latest_published(
    session: AsyncSession, program_id: uuid.UUID, year: int, half: int | None
) -> Assessment | None:
    """The period's latest published version, if any (the api shows it, the ranker adds to it)."""
    return await session.scalar(
        select(Assessment)
        .where(col(Assessment.program_id) == program_id, col(Assessment.year) == year)
        .where(col(Assessment.half) == (half or 0))
        .order_by(col(Assessment.version).desc())
        .limit(1)
    )
