"""How sure a rank is: a bootstrap over inspectors with a fixed seed, so it reproduces.

Each resample draws as many inspectors as the round has, with replacement; every project's
observation score is recomputed from the drawn inspectors' counted values (an inspector drawn
twice counts twice; trimming drops the `trim` lowest and highest values when at least
`min_raters_for_trim` were drawn for the project), its composite from that and its unchanged
objective part, and every project, unit and region is ranked again (competition style). A row's
rank interval is the 2.5th to the 97.5th percentile of its ranks over the resamples. These
inform; the published ranks stay those of the rules.

The inspectors drawn are those with counted values — the connected design the rater effects
were fitted on when the round adjusts for them (services/ranker/effects.py); the adjusted values
are resampled with the effects as fitted (their own uncertainty is each effect's standard error).
A project none of whose inspectors was drawn keeps its observed score, so every resample ranks
every project.

The work is resamples × ratings in plain Python: 1,000 resamples for a round of up to 2,000
ratings (a county's), fewer for a larger one (down to 20 for a province's 100,000 ratings); the
document says how many were drawn.
"""

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import mul

SEED = 20180801  # fixed: the same scores give the same intervals
BUDGET = 2_000_000  # resamples × ratings
MOST, FEWEST = 1000, 20


@dataclass(frozen=True)
class Project:
    id: uuid.UUID
    unit_id: uuid.UUID
    region_id: uuid.UUID
    objective: float  # Σ weight × component: the part of the composite observation does not move
    ratings: Sequence[tuple[int, float]]  # (inspector index, counted value), lowest value first
    weight: float | None = None  # observation's weight for this project (the round's when None)


def resamples(ratings: int) -> int:
    return max(FEWEST, min(MOST, BUDGET // max(1, ratings)))


def _trimmed_mean(values: Sequence[float], counts: list[int], trim: int, min_raters: int) -> float | None:
    """The mean of `values` (lowest first), each counted counts[k] times, less the `trim` lowest
    and highest when at least `min_raters` were counted."""
    n = sum(counts)
    if n == 0:
        return None
    total: float = sum(map(mul, counts, values))
    if n < min_raters or trim == 0:
        return total / n
    low = high = trim
    for k, c in enumerate(counts):  # drop the lowest `trim` drawn values
        if c:
            take = min(low, c)
            total -= take * values[k]
            low -= take
            if not low:
                break
    for k in range(len(counts) - 1, -1, -1):  # and the highest
        c = counts[k]
        if c:
            take = min(high, c)
            total -= take * values[k]
            high -= take
            if not high:
                break
    kept = n - 2 * trim
    return total / kept if kept > 0 else None


def _ranks(scores: dict[uuid.UUID, float]) -> dict[uuid.UUID, int]:
    ordered = sorted(scores.items(), key=lambda kv: -kv[1])
    ranks: dict[uuid.UUID, int] = {}
    for position, (key, score) in enumerate(ordered):
        previous = ordered[position - 1] if position else None
        ranks[key] = ranks[previous[0]] if previous and previous[1] == score else position + 1
    return ranks


def _interval(ranks: list[int]) -> list[int]:
    ordered = sorted(ranks)
    last = len(ordered) - 1
    return [ordered[int(0.025 * last)], ordered[round(0.975 * last)]]


def intervals(
    projects: list[Project], *, inspectors: int, weight: Decimal, trim: int, min_raters: int, seed: int = SEED
) -> tuple[int, dict[str, dict[uuid.UUID, list[int]]]]:
    """(resamples drawn, {"projects" | "units" | "regions": {id: [best, worst]}})."""
    count = resamples(sum(len(p.ratings) for p in projects))
    rng = random.Random(seed)
    w = float(weight)
    seen: dict[str, dict[uuid.UUID, list[int]]] = {"projects": {}, "units": {}, "regions": {}}
    columns = [([i for i, _ in p.ratings], [v for _, v in p.ratings]) for p in projects]
    # a resample that draws none of a project's raters keeps the project at its observed score
    # rather than dropping it and ranking the rest among fewer
    observed_of = [_trimmed_mean(values, [1] * len(values), trim, min_raters) for _, values in columns]
    for _ in range(count):
        drawn = [0] * inspectors
        for _ in range(inspectors):
            drawn[rng.randrange(inspectors)] += 1
        composites: dict[uuid.UUID, float] = {}
        pick = drawn.__getitem__
        for p, (who, values), fallback in zip(projects, columns, observed_of, strict=True):
            observed = _trimmed_mean(values, list(map(pick, who)), trim, min_raters)
            if observed is None:
                observed = fallback
            if observed is not None:
                composites[p.id] = round((w if p.weight is None else p.weight) * observed + p.objective, 2)
        for key, group in (("units", "unit_id"), ("regions", "region_id")):
            members: dict[uuid.UUID, list[float]] = {}
            for p in projects:
                if p.id in composites:
                    members.setdefault(getattr(p, group), []).append(composites[p.id])
            means = {g: round(sum(v) / len(v), 2) for g, v in members.items()}
            for g, rank in _ranks(means).items():
                seen[key].setdefault(g, []).append(rank)
        for pid, rank in _ranks(composites).items():
            seen["projects"].setdefault(pid, []).append(rank)
    return count, {key: {k: _interval(v) for k, v in ranks.items()} for key, ranks in seen.items()}


def distinguishable(interval: list[int] | None, rank: int, cut: int, total: int, bottom: bool) -> bool:
    """Whether a row inside the praise (top `cut`) or criticism (bottom `cut`) list stays on its
    side of the cut-off across the resamples."""
    if interval is None or cut <= 0:
        return True
    if bottom:
        edge = total - cut + 1  # the best rank inside the bottom list
        return rank < edge or interval[0] >= edge
    return rank > cut or interval[1] <= cut
