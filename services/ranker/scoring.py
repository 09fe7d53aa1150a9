"""A round's results, exactly as API.md "How a round is scored" says, as an immutable snapshot.

The volume (a province: millions of scores a year) stays in PostgreSQL: one CREATE TEMPORARY
TABLE … AS SELECT turns the raw criterion scores into one rating per (inspector, project) —
rubric-weighted, z-mapped when the round normalizes, marked incomplete or trimmed — and GROUP BYs
read per-project and per-inspector sums off those. Python then handles one row per project: the
objective components (shared.rounds.COMPONENTS over shared.indicators, as of the round's end),
the composite, the rounding and the ranks. `compute` runs five steps: rate, observe, compose,
rank, fairness.

Every figure is a Decimal and every rounding is half-up to the cent at the end, so the same
inputs always give the same document, byte for byte (its SHA-256 is the snapshot's digest). A
recompute whose document equals the latest snapshot's writes nothing; one that differs (late
corrections within the grace period) becomes version n+1. Published snapshots are never edited.
"""

import logging
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.ranker import bootstrap, effects
from shared import calendar, clock, indicators
from shared.inbox import claim
from shared.models import (
    ObservationRound,
    Program,
    Project,
    RankerInbox,
    RoundProject,
    RoundSnapshot,
    Unit,
)
from shared.queues import Job
from shared.ranking import RoundResults, cents, competition_ranks, digest_of
from shared.ranking import snapshot as snapshot_of
from shared.rounds import COMPONENTS, RoundSettings
from shared.vocabulary import ObjectiveComponent

log = logging.getLogger(__name__)

RANK_LOCK = 0x6475_6261_6E02  # seeds the hash of a round's advisory lock: one computation at a time
Z_PARTIAL_OVERLAP = (
    "z-scores under partial overlap: not every inspector scored every project, so an inspector "
    "who saw only strong (or only weak) projects is mapped as if their projects were average, "
    "and honest ratings can change order; prefer normalize rater_effects"
)


def disconnected(groups: int, applied: str) -> str:
    """The warning when the inspectors fall into groups that share no project."""
    return (
        f"the inspectors fall into {groups} groups that share no project, so their effects compare "
        f"only within a group; {applied}"
    )


# The ratings, one per (inspector, project), into temporary tables: CREATE TABLE AS may run in
# parallel where an INSERT … SELECT may not (PostgreSQL 15), and the snapshot keeps them one row
# per project (arrays), 1,000 rows for a province rather than 100,000. First each inspector's
# rubric-weighted score of each project (`rated`); then, once the rater effects are fitted
# (services/ranker/effects.py), the value the ranking uses and the trimming (`ratings`): the
# `trim` lowest by (value, inspector) and the `trim` highest, counted from the same one sort.
_RATED = text(
    """
CREATE TEMPORARY TABLE rated ON COMMIT DROP AS
WITH rubric AS (
    SELECT * FROM unnest(CAST(:keys AS text[]), CAST(:weights AS numeric[]), CAST(:maxes AS numeric[]))
        AS r(key, weight, max_score)
)
SELECT s.inspector_id, s.project_id,
       100 * sum(r.weight * s.value / r.max_score) / :weight_sum AS score,
       count(*) = :criteria AS complete
FROM observation_score s JOIN rubric r ON r.key = s.criterion
WHERE s.round_id = :round
GROUP BY s.inspector_id, s.project_id
"""
)
# Scores are taken only for the round's projects from its inspectors (services/api/rounds), and
# a round's scope does not change once created: no join back to round_project / round_inspector.
_RATE = """
CREATE TEMPORARY TABLE ratings ON COMMIT DROP AS
WITH mapped AS (
    {mapped}
), ordered AS (
    SELECT mapped.*,
           count(*) FILTER (WHERE complete) OVER (PARTITION BY project_id) AS raters,
           count(*) OVER (PARTITION BY project_id, complete) AS peers,
           row_number() OVER (PARTITION BY project_id, complete ORDER BY used, inspector_id) AS low
    FROM mapped
)
SELECT project_id, inspector_id, score, z, adjusted, used, complete,
       complete AND raters >= :min_raters AND (low <= :trim OR peers - low < :trim) AS trimmed
FROM ordered
"""
_RAW = (
    "SELECT rated.*, CAST(NULL AS numeric) AS z, CAST(NULL AS numeric) AS adjusted, score AS used FROM rated"
)
_Z = """SELECT inspector_id, project_id, score, complete, z, CAST(NULL AS numeric) AS adjusted, z AS used
    FROM (
        SELECT spread.*,
               CASE WHEN NOT complete THEN NULL WHEN sd = 0 THEN 50
                    ELSE 50 + 10 * (score - mean) / sd END AS z
        FROM (
            SELECT rated.*,
                   avg(score) FILTER (WHERE complete) OVER (PARTITION BY inspector_id) AS mean,
                   stddev_pop(score) FILTER (WHERE complete) OVER (PARTITION BY inspector_id) AS sd
            FROM rated
        ) AS spread
    ) AS mapped"""
# Each complete rating less its inspector's fitted effect: the project's least-squares quality on
# the raw scale (an inspector whose effect nothing tells keeps the raw score).
_EFFECTS = """SELECT inspector_id, project_id, score, complete, z, adjusted, coalesce(adjusted, score) AS used
    FROM (
        SELECT rated.*, CAST(NULL AS numeric) AS z, CASE WHEN complete THEN score - e.effect END AS adjusted
        FROM rated LEFT JOIN unnest(CAST(:inspectors AS uuid[]), CAST(:effects AS numeric[]))
            AS e(inspector_id, effect) USING (inspector_id)
    ) AS mapped"""
RATE = {
    "none": text(_RATE.format(mapped=_RAW)),
    "zscore": text(_RATE.format(mapped=_Z)),
    "rater_effects": text(_RATE.format(mapped=_EFFECTS)),
}
# The complete ratings for the fit, as three arrays of one row (dense indexes, not 100,000 rows
# of UUIDs), and the inspectors the indexes stand for.
_COMPLETE = text(
    "SELECT coalesce(array_agg(p), '{}'), coalesce(array_agg(i), '{}'), coalesce(array_agg(score), '{}'), "
    "(SELECT coalesce(array_agg(DISTINCT inspector_id ORDER BY inspector_id), '{}') "
    "FROM rated WHERE complete) "
    "FROM (SELECT CAST(dense_rank() OVER (ORDER BY project_id) - 1 AS integer) AS p, "
    "CAST(dense_rank() OVER (ORDER BY inspector_id) - 1 AS integer) AS i, "
    "CAST(score AS float8) AS score FROM rated WHERE complete) AS indexed"
)
_KEEP = text(
    "INSERT INTO snapshot_ratings (snapshot_id, project_id, inspector_ids, scores, z, adjusted, complete, "
    "trimmed) SELECT :snapshot, project_id, array_agg(inspector_id ORDER BY inspector_id), "
    "array_agg(score ORDER BY inspector_id), array_agg(z ORDER BY inspector_id), "
    "CASE WHEN bool_or(adjusted IS NOT NULL) THEN array_agg(adjusted ORDER BY inspector_id) END, "
    "array_agg(complete ORDER BY inspector_id), array_agg(trimmed ORDER BY inspector_id) "
    "FROM ratings GROUP BY project_id"
)
_OBSERVED = text(
    "SELECT project_id, avg(used) FILTER (WHERE complete AND NOT trimmed), count(*) FILTER (WHERE complete), "
    "coalesce(array_agg(inspector_id ORDER BY inspector_id) FILTER (WHERE trimmed), '{}'), "
    "coalesce(array_agg(inspector_id ORDER BY inspector_id) FILTER (WHERE NOT complete), '{}') "
    "FROM ratings GROUP BY project_id"
)
# Whether every inspector who completed a rubric completed it for every project anyone did.
_OVERLAP = text(
    "SELECT count(*) = count(DISTINCT inspector_id) * count(DISTINCT project_id) FROM ratings WHERE complete"
)
# Krippendorff's alpha (interval) from per-project count, sum and sum of squares of the values
# the ranking uses (z-mapped when the round normalizes).
_AGREEMENT = text(
    "SELECT count(*), sum(used), sum(used * used) FROM ratings WHERE complete "
    "GROUP BY project_id HAVING count(*) > 1 ORDER BY project_id"
)


@dataclass
class Row:
    id: uuid.UUID
    code: str
    name: str
    responsible_unit_id: uuid.UUID
    region_unit_id: uuid.UUID
    observation: Decimal | None
    raters: int
    trimmed: list[str]
    incomplete: list[str]
    components: dict[str, Decimal | None]  # None: not applicable to the project (no annual plan)
    composite: Decimal | None = None
    rank: int | None = None
    shares: tuple[Decimal, Decimal] | None = None  # (observation's weight, the objective part)


def krippendorff_alpha(units: list[tuple[int, Decimal, Decimal]]) -> Decimal | None:
    """Interval alpha = 1 − D_o / D_e over the projects two or more inspectors scored."""
    n = sum(m for m, _, _ in units)
    if n < 2:
        return None
    observed = sum((2 * (m * s2 - s1 * s1) / (m - 1) for m, s1, s2 in units), Decimal(0)) / n
    total1 = sum((s1 for _, s1, _ in units), Decimal(0))
    total2 = sum((s2 for _, _, s2 in units), Decimal(0))
    expected = 2 * (n * total2 - total1 * total1) / (n * (n - 1))
    if expected == 0:
        return None
    return (1 - observed / expected).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


async def compute(session: AsyncSession, rnd: ObservationRound, snapshot_id: uuid.UUID) -> dict[str, Any]:
    """The round's results document; its ratings are written under `snapshot_id` (the caller
    keeps or discards them with the transaction). Five steps: rate (SQL: one rating per
    inspector and project), observe (SQL: each project's trimmed mean), compose (the objective
    components and the composite), rank (projects, units, regions) and fairness (agreement,
    severity, bootstrap rank intervals)."""
    settings = RoundSettings.of(rnd)
    fit = await _rate(session, rnd.id, settings, snapshot_id)
    rows = await _compose(session, rnd, settings, await _observe(session))
    ranked, unobserved = _rank(rows, settings.tie_break)
    names = dict(
        (await session.execute(select(col(Unit.id), col(Unit.name)).where(col(Unit.id).in_(
            {r.responsible_unit_id for r in ranked} | {r.region_unit_id for r in ranked}
        )))).all()
    )  # fmt: skip
    listed = {
        "projects": _project_rows(ranked, unobserved),
        "units": _groups(ranked, "responsible_unit_id", names),
        "regions": _groups(ranked, "region_unit_id", names),
    }
    fairness = await _fairness(session, settings, fit, ranked, listed)
    weights = settings.weights()
    return {
        "round_id": str(rnd.id),
        "program_id": str(rnd.program_id),
        "quarter": rnd.quarter,
        "settings": {
            "rubric": rnd.rubric,
            "aggregation": rnd.aggregation,
            "observation_weight": str(settings.observation_weight),
            "objective_weights": {str(k): str(v) for k, v in weights.items()},
            "tie_break": str(settings.tie_break),
            "praise_top": settings.praise_top,
            "criticise_bottom": settings.criticise_bottom,
            "as_of": rnd.closes_at.isoformat(),
        },
        **listed,
        "fairness": fairness,
    }


def _ranked_on(settings: RoundSettings, fit: effects.Fit) -> str:
    """What the ranking counts: the round's `normalize`, but the raw scores when the rater
    effects compare only within groups of inspectors (they cannot adjust a common ranking)."""
    mode = settings.aggregation.normalize
    return "none" if mode == "rater_effects" and not fit.connected else mode


async def _rate(
    session: AsyncSession, round_id: uuid.UUID, settings: RoundSettings, snapshot_id: uuid.UUID
) -> effects.Fit:
    """The ratings table (one per inspector and project, z-mapped or adjusted for the fitted
    rater effects, trimmed), kept per project; and the fit."""
    rubric = settings.rubric
    for table in ("rated", "ratings"):  # a computation earlier in this transaction
        await session.execute(text(f"DROP TABLE IF EXISTS pg_temp.{table}"))
    await session.execute(
        _RATED,
        {
            "round": round_id,
            "keys": [c.key for c in rubric],
            "weights": [c.weight for c in rubric],
            "maxes": [c.max_score for c in rubric],
            "weight_sum": sum((c.weight for c in rubric), Decimal(0)),
            "criteria": len(rubric),
        },
    )
    projects, inspectors, scores, inspector_ids = (await session.execute(_COMPLETE)).one()
    fit = effects.fit(
        effects.Ratings(
            project_of=np.array(projects, dtype=np.intp),
            inspector_of=np.array(inspectors, dtype=np.intp),
            score=np.array(scores, dtype=np.float64),
            inspector_ids=inspector_ids,
        )
    )
    mode = _ranked_on(settings, fit)
    fitted = {i: e.effect for i, e in fit.inspectors.items() if e.effect is not None}
    await session.execute(
        RATE[mode],
        {
            "trim": settings.aggregation.trim,
            "min_raters": settings.aggregation.min_raters_for_trim,
            **(
                {"inspectors": list(fitted), "effects": list(fitted.values())}
                if mode == "rater_effects"
                else {}
            ),
        },
    )
    await session.execute(_KEEP, {"snapshot": snapshot_id})
    return fit


Observed = tuple[Decimal | None, int, list[str], list[str]]


async def _observe(session: AsyncSession) -> dict[uuid.UUID, Observed]:
    """Each project's observation (the mean of its counted ratings), raters, trimmed and
    incomplete inspectors."""
    return {
        pid: (
            None if obs is None else Decimal(obs),
            raters,
            [str(i) for i in trimmed],
            [str(i) for i in incomplete],
        )
        for pid, obs, raters, trimmed, incomplete in await session.execute(_OBSERVED)
    }


async def _compose(
    session: AsyncSession, rnd: ObservationRound, settings: RoundSettings, observed: dict[uuid.UUID, Observed]
) -> list[Row]:
    """Each of the round's projects with its objective components (the indicators as of the
    round's end, through the component registry) and its composite, unrounded."""
    program = await session.get_one(Program, rnd.program_id)
    projects = (
        await session.execute(
            select(
                col(Project.id),
                col(Project.code),
                col(Project.name),
                col(Project.responsible_unit_id),
                col(Project.region_unit_id),
            )
            .join(RoundProject, col(RoundProject.project_id) == col(Project.id))
            .where(col(RoundProject.round_id) == rnd.id)
            .order_by(col(Project.code), col(Project.id))
        )
    ).all()
    cal = await calendar.load(session, [rnd.closes_at.year])
    facts = await indicators.compute_many(
        session, program=program, calendar=cal, as_of=rnd.closes_at, project_ids=[p.id for p in projects]
    )
    weights = settings.weights()
    ow = settings.observation_weight
    rows: list[Row] = []
    for p in projects:
        obs, raters, trimmed, incomplete = observed.get(p.id, (None, 0, [], []))
        found = facts.get(p.id)
        # the weighted components, and the tie-break's whether weighted or not (it breaks ties even
        # at weight 0 or unweighted)
        wanted = [k for k in COMPONENTS if k in weights or k == settings.tie_break]
        components = {str(k): _read(k, found) for k in wanted}
        row = Row(
            id=p.id,
            code=p.code,
            name=p.name,
            responsible_unit_id=p.responsible_unit_id,
            region_unit_id=p.region_unit_id,
            observation=obs,
            raters=raters,
            trimmed=trimmed,
            incomplete=incomplete,
            components=components,
        )
        row.shares = _shares(ow, weights, components)
        if obs is not None and row.shares is not None:
            row.composite = row.shares[0] * obs + row.shares[1]
        rows.append(row)
    return rows


def _read(key: ObjectiveComponent, found: indicators.Indicators | None) -> Decimal | None:
    if found is None:
        return Decimal(0)
    value = COMPONENTS[key].read(found)
    return None if value is None else Decimal(value)


def _shares(
    ow: Decimal, weights: dict[ObjectiveComponent, Decimal], components: dict[str, Decimal | None]
) -> tuple[Decimal, Decimal] | None:
    """(observation's weight, the objective part) of a project's composite. A part not applicable
    to the project (investment without an annual plan) is left out and the weights of the rest
    scaled up to sum to 1; None when nothing weighted applies."""
    applicable = {k: w for k, w in weights.items() if components.get(str(k)) is not None}
    scale = ow + sum(applicable.values(), Decimal(0))
    if scale == 0:
        return None
    objective = sum((w * (components[str(k)] or Decimal(0)) for k, w in applicable.items()), Decimal(0))
    return (ow, objective) if scale == 1 else (ow / scale, objective / scale)


def _rank(rows: list[Row], tie: str) -> tuple[list[Row], list[Row]]:
    """The observed projects best first (the composite to the cent, then the tie-break
    component, then code and id), and those nobody scored completely."""
    ranked = sorted(
        (r for r in rows if r.composite is not None),
        key=lambda r: (
            -cents(r.composite or Decimal(0)),
            -(r.components.get(tie) or Decimal(0)),
            r.code,
            str(r.id),
        ),
    )
    for r, rank in zip(
        ranked,
        competition_ranks([(cents(r.composite or Decimal(0)), r.components.get(tie)) for r in ranked]),
        strict=True,
    ):
        r.rank = rank
    return ranked, [r for r in rows if r.composite is None]


def _project_rows(ranked: list[Row], unobserved: list[Row]) -> list[dict[str, Any]]:
    return [
        {
            "rank": r.rank,
            "id": str(r.id),
            "code": r.code,
            "name": r.name,
            "responsible_unit_id": str(r.responsible_unit_id),
            "region_unit_id": str(r.region_unit_id),
            "score": _money(cents(r.composite)) if r.composite is not None else None,
            "components": {
                "observation": _money(cents(r.observation)) if r.observation is not None else None,
                **{k: None if v is None else _money(cents(v)) for k, v in r.components.items()},
            },
            "raters": r.raters,
            "trimmed_inspectors": r.trimmed,
            "incomplete_inspectors": r.incomplete,
        }
        for r in [*ranked, *unobserved]
    ]


async def _fairness(
    session: AsyncSession,
    settings: RoundSettings,
    fit: effects.Fit,
    ranked: list[Row],
    listed: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """Inter-rater agreement (on the values the ranking uses), each inspector's jointly fitted
    effect, and each ranked row's bootstrap rank interval (marked on `listed`'s rows)."""
    inspectors = [
        {
            "inspector_id": str(i),
            "severity": _money(None if e.effect is None else cents(e.effect)),
            "standard_error": _money(None if e.standard_error is None else cents(e.standard_error)),
            "projects": e.projects,
            "shared_projects": e.shared,
        }
        for i, e in sorted(fit.inspectors.items())
    ]
    agreement_units = [(int(m), Decimal(s1), Decimal(s2)) for m, s1, s2 in await session.execute(_AGREEMENT)]
    alpha = krippendorff_alpha(agreement_units)
    resamples, intervals = await _rank_intervals(session, settings, ranked)
    for key, rows in listed.items():
        _mark(rows, intervals[key], settings.praise_top, settings.criticise_bottom)
    mode = settings.aggregation.normalize
    applied = _ranked_on(settings, fit) == "rater_effects"
    warnings = []
    if mode == "zscore" and not await session.scalar(_OVERLAP):
        warnings.append(Z_PARTIAL_OVERLAP)
    if not fit.connected:
        warnings.append(
            disconnected(
                fit.groups,
                "the ranking uses the raw scores (normalize none) instead"
                if mode == "rater_effects"
                else "compare severities within a group only",
            )
        )
    return {
        **({"warnings": warnings} if warnings else {}),
        "bootstrap": {
            "resamples": resamples,
            "seed": bootstrap.SEED,
            "interval": "2.5th to 97.5th percentile",
        },
        "agreement": {
            "method": "krippendorff_alpha_interval",
            "value": None if alpha is None else str(alpha),
            "projects": len(agreement_units),
        },
        "rater_effects": {
            "model": "score = project + inspector + error (least squares, effects centred at 0)",
            "groups": fit.groups,
            "residual_sd": _money(None if fit.residual_sd is None else cents(fit.residual_sd)),
            "applied": applied,
        },
        "inspectors": inspectors,
    }


# Each project's counted values, lowest first, with their inspectors as dense indexes: 1,000 rows
# of arrays for a province's round rather than 100,000 rows.
_COUNTED = text(
    "SELECT project_id, array_agg(who ORDER BY used, who), "
    "array_agg(CAST(used AS float8) ORDER BY used, who) "
    "FROM (SELECT project_id, used, CAST(dense_rank() OVER (ORDER BY inspector_id) - 1 AS integer) AS who "
    "FROM ratings WHERE complete AND used IS NOT NULL) AS counted GROUP BY project_id"
)


async def _rank_intervals(
    session: AsyncSession, settings: RoundSettings, ranked: list[Row]
) -> tuple[int, dict[str, dict[uuid.UUID, list[int]]]]:
    """Each ranked row's bootstrap rank interval (services/ranker/bootstrap.py)."""
    counted: dict[uuid.UUID, list[tuple[int, float]]] = {}
    inspectors = 0
    for project_id, who, used in await session.execute(_COUNTED):
        counted[project_id] = list(zip(who, used, strict=True))
        inspectors = max(inspectors, max(who) + 1)
    projects = [
        bootstrap.Project(
            id=r.id,
            unit_id=r.responsible_unit_id,
            region_id=r.region_unit_id,
            objective=float(r.shares[1]) if r.shares else 0.0,
            ratings=counted.get(r.id, []),
            weight=float(r.shares[0]) if r.shares else None,
        )
        for r in ranked
    ]
    return bootstrap.intervals(
        projects,
        inspectors=max(1, inspectors),
        weight=settings.observation_weight,
        trim=settings.aggregation.trim,
        min_raters=settings.aggregation.min_raters_for_trim,
    )


def _mark(rows: list[dict[str, Any]], intervals: dict[uuid.UUID, list[int]], top: int, bottom: int) -> None:
    """Each ranked row's rank interval; and whether a row in the praise or criticism list is
    distinguishable from those across the cut-off."""
    total = sum(1 for r in rows if r["rank"] is not None)
    for row in rows:
        if row["rank"] is None:
            row["rank_interval"], row["distinguishable"] = None, True
            continue
        interval = intervals.get(uuid.UUID(row["id"]))
        row["rank_interval"] = interval
        row["distinguishable"] = bootstrap.distinguishable(
            interval, row["rank"], top, total, bottom=False
        ) and bootstrap.distinguishable(interval, row["rank"], bottom, total, bottom=True)


def _groups(ranked: list[Row], attribute: str, names: dict[uuid.UUID, str]) -> list[dict[str, Any]]:
    """A unit's (or region's) score: the mean of its projects' unrounded composites, rounded;
    ranks competition style on that, ties left tied."""
    members: dict[uuid.UUID, list[Decimal]] = {}
    for r in ranked:
        members.setdefault(getattr(r, attribute), []).append(r.composite or Decimal(0))
    scored = sorted(
        ((cents(sum(v, Decimal(0)) / len(v)), uid, len(v)) for uid, v in members.items()),
        key=lambda t: (-t[0], names.get(t[1], ""), str(t[1])),
    )
    ranks = competition_ranks([(score,) for score, _, _ in scored])
    return [
        {"rank": rank, "id": str(uid), "name": names.get(uid, ""), "score": str(score), "projects": n}
        for rank, (score, uid, n) in zip(ranks, scored, strict=True)
    ]


def typed(document: dict[str, Any]) -> dict[str, Any]:
    """The computed document, checked against its type (shared.ranking.RoundResults): a field
    the type would drop or add is a bug here, not something to store."""
    stored = RoundResults.model_validate(document).stored()
    if stored != document:
        raise TypeError(
            f"the results document and RoundResults disagree: {sorted(_differ(stored, document))}"
        )
    return stored


def _differ(a: Any, b: Any, at: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in a.keys() | b.keys() for d in _differ(a.get(k), b.get(k), f"{at}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differ(x, y, f"{at}[{i}]")]
    return [] if a == b else [at]


class Duplicate(Exception):
    """The rank_round message was applied before (its id is in the ranker's inbox)."""


async def rank_round(
    sessions: async_sessionmaker[AsyncSession], round_id: uuid.UUID, *, message_id: str | None = None
) -> RoundSnapshot | None:
    """Compute the round's results; keep them as version n+1 unless they equal the latest
    snapshot's (then that one stands). One transaction: a computation killed halfway leaves
    nothing behind. None when the round is not closed yet (or does not exist). A job's
    `message_id` is recorded in the ranker's inbox with the outcome, so a redelivered message
    (the reconciler's, after Redis lost its result) raises Duplicate instead of running again."""
    async with sessions() as session:
        key = func.hashtextextended(str(round_id), RANK_LOCK)
        await session.execute(select(func.pg_advisory_xact_lock(key)))
        if message_id is not None and not await claim(
            session, RankerInbox, message_id=message_id, job=Job.RANK_ROUND
        ):
            raise Duplicate(message_id)
        rnd = await session.get(ObservationRound, round_id)
        if rnd is None or rnd.state not in ("closed", "published"):
            await session.commit()  # the claim: a round not closed now has nothing to rank
            return None
        latest = await snapshot_of(session, round_id)
        if latest is not None:
            session.expunge(latest)  # returned as it is, should this computation be rolled back
        snapshot = RoundSnapshot(
            round_id=round_id,
            version=(latest.version if latest else 0) + 1,
            digest="",
            computed_at=clock.now(),
        )
        session.add(snapshot)
        await session.flush()  # its ratings refer to it
        snapshot.document = typed(await compute(session, rnd, snapshot.id))
        snapshot.digest = digest_of(snapshot.document)
        if latest is not None and latest.digest == snapshot.digest:
            await session.rollback()
            if message_id is not None:  # the same results: only the message is kept as applied
                async with session.begin():
                    await claim(session, RankerInbox, message_id=message_id, job=Job.RANK_ROUND)
            return latest
        await session.commit()
        log.info(
            "round %s ranked: version %s (%s projects)",
            round_id,
            snapshot.version,
            len(snapshot.document["projects"]),
        )
        return snapshot


_UNRANKED = text(
    "SELECT r.id FROM observation_round r WHERE r.state IN ('closed', 'published') "
    "AND NOT EXISTS (SELECT 1 FROM round_snapshot s WHERE s.round_id = r.id) ORDER BY r.closed_at"
)


async def unranked_rounds(sessions: async_sessionmaker[AsyncSession]) -> list[uuid.UUID]:
    """Closed rounds with no snapshot yet."""
    async with sessions() as session:
        return list(await session.scalars(_UNRANKED))
