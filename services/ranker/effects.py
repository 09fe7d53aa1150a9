"""Rater effects estimated jointly: every complete rating is taken as

    score(inspector, project) = quality(project) + effect(inspector) + error

and the effects fitted by ordinary least squares over all of a round's ratings at once, so an
inspector who saw only strong projects is not mistaken for a lenient one (per-inspector z-scores
are) and one who sat beside a lenient colleague is not called harsh (own-minus-others is).

The fit eliminates the projects (the reduced normal equations, one row per inspector):

    C = diag(n_i) − Nᵀ diag(1/n_p) N        q = Σ_i score − Nᵀ (Σ_p score / n_p)

where N is the project × inspector incidence of the ratings. C's null space is spanned by the
groups of inspectors connected through shared projects; its pseudo-inverse gives the
least-squares effects that sum to 0 within each group (centred: an average inspector has effect
0, a positive effect is lenient) and, times the residual variance, their covariance — each
effect's standard error. A project's adjusted score, the mean of its ratings less their
inspectors' effects, is its least-squares quality on the raw scale, so grade thresholds keep
their meaning. Effects compare across the whole round only when the design is connected (one
group); the ranker then adjusts, otherwise it ranks the raw scores and says why.

A province's round is 1,000 projects × a few hundred inspectors: N is dense and small, C is
inspectors × inspectors; numpy solves it in milliseconds (bench/ranker.py measures it).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

PLACES = 6  # effects as the ranking uses them: far below a cent, far above float noise


@dataclass(frozen=True)
class Effect:
    effect: Decimal | None  # None: the inspector shares no project, so nothing tells its effect
    standard_error: Decimal | None  # None: too few ratings left over to estimate the error
    projects: int  # rated completely
    shared: int  # of those, rated by another inspector too


@dataclass(frozen=True)
class Fit:
    inspectors: dict[uuid.UUID, Effect]
    groups: int  # inspectors' groups connected through shared projects (1: connected)
    residual_sd: Decimal | None

    @property
    def connected(self) -> bool:
        return self.groups <= 1


def _decimal(value: float) -> Decimal:
    return Decimal(f"{value:.{PLACES}f}") + 0  # + 0: no "-0.000000"


def _groups(project_of: np.ndarray, inspector_of: np.ndarray, inspectors: int) -> int:
    """How many groups of inspectors share no project with each other (union-find)."""
    parent = list(range(inspectors))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[int, int] = {}
    for p, i in zip(project_of.tolist(), inspector_of.tolist(), strict=True):
        if p in first:
            a, b = root(first[p]), root(i)
            if a != b:
                parent[a] = b
        else:
            first[p] = i
    return len({root(i) for i in range(inspectors)})


@dataclass(frozen=True)
class Ratings:
    """Complete ratings, at most one per (project, inspector): parallel arrays of a project's
    index, an inspector's index (into `inspector_ids`) and the score."""

    project_of: np.ndarray
    inspector_of: np.ndarray
    score: np.ndarray
    inspector_ids: Sequence[uuid.UUID]

    @classmethod
    def of(cls, triples: Sequence[tuple[uuid.UUID, uuid.UUID, float]]) -> "Ratings":
        """From (project, inspector, score) triples."""
        projects = {p: k for k, p in enumerate(sorted({p for p, _, _ in triples}))}
        inspector_ids = sorted({i for _, i, _ in triples})
        inspectors = {i: k for k, i in enumerate(inspector_ids)}
        return cls(
            project_of=np.array([projects[p] for p, _, _ in triples], dtype=np.intp),
            inspector_of=np.array([inspectors[i] for _, i, _ in triples], dtype=np.intp),
            score=np.array([s for _, _, s in triples], dtype=np.float64),
            inspector_ids=inspector_ids,
        )


def fit(ratings: Ratings) -> Fit:
    """The joint fit of a round's complete ratings."""
    if not len(ratings.score):
        return Fit(inspectors={}, groups=0, residual_sd=None)
    project_of, inspector_of, score = ratings.project_of, ratings.inspector_of, ratings.score
    inspector_ids = ratings.inspector_ids
    P, R = int(project_of.max()) + 1, len(inspector_ids)

    n_p = np.bincount(project_of, minlength=P).astype(np.float64)
    n_i = np.bincount(inspector_of, minlength=R).astype(np.float64)
    sum_p = np.bincount(project_of, weights=score, minlength=P)
    sum_i = np.bincount(inspector_of, weights=score, minlength=R)
    incidence = np.zeros((P, R))
    incidence[project_of, inspector_of] = 1.0
    reduced = np.diag(n_i) - (incidence / n_p[:, None]).T @ incidence
    right = sum_i - incidence.T @ (sum_p / n_p)
    inverse = np.linalg.pinv(reduced, hermitian=True)
    effects = inverse @ right

    groups = _groups(project_of, inspector_of, R)
    quality = (sum_p - incidence @ effects) / n_p
    residuals = score - quality[project_of] - effects[inspector_of]
    freedom = len(score) - P - R + groups  # ratings less the parameters the design identifies
    variance = float(residuals @ residuals) / freedom if freedom > 0 else None

    shared_rated = (n_p >= 2)[project_of]
    shared = np.bincount(inspector_of, weights=shared_rated.astype(np.float64), minlength=R)
    found: dict[uuid.UUID, Effect] = {}
    for k, inspector in enumerate(inspector_ids):
        estimable = shared[k] > 0
        error = None
        if estimable and variance is not None:
            error = _decimal(float(np.sqrt(max(0.0, variance * inverse[k, k]))))
        found[inspector] = Effect(
            effect=_decimal(float(effects[k])) if estimable else None,
            standard_error=error,
            projects=int(n_i[k]),
            shared=int(shared[k]),
        )
    return Fit(
        inspectors=found,
        groups=groups,
        residual_sd=None if variance is None else _decimal(float(np.sqrt(variance))),
    )
