"""Rater effects fitted jointly (services/ranker/effects.py; docs/scoring.md "Rater effects").

An additive model, score = project + inspector + error, fitted by least squares over the whole
round: planted effects come back, honest inspectors keep honest order whatever they were sent
to see, and a design split into groups that share no project is ranked raw and says so.
"""

import random
import uuid
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ranker import effects
from services.ranker.scoring import rank_round
from tests.ranker.scene import Scene, make_scene, score_of

FLAT = {
    "observation_weight": "1",
    "objective_weights": {"investment_rate": "0", "milestone_rate": "0", "report_timeliness": "0"},
}


async def _rate(session: AsyncSession, s: Scene, ratings: dict[tuple[str, int], Decimal]) -> None:
    """Each (project, inspector)'s total as progress (at most 60) + quality (the rest)."""
    for (project, inspector), total in ratings.items():
        progress = min(total, Decimal(60))
        session.add(score_of(s, project, inspector, "progress", progress))
        session.add(score_of(s, project, inspector, "quality", total - progress))
    await session.commit()


def _observations(document: dict[str, Any]) -> list[tuple[str, int | None, str | None]]:
    return [(r["code"], r["rank"], r["components"]["observation"]) for r in document["projects"]]


# Two inspectors score all four projects at their true quality, one only the top two, one only
# the bottom two: honest, every one of them.
TRUTH = {"P1": Decimal(90), "P2": Decimal(80), "P3": Decimal(79), "P4": Decimal(65)}
HONEST = {
    **{(p, i): q for p, q in TRUTH.items() for i in (0, 1)},
    **{(p, 2): TRUTH[p] for p in ("P1", "P2")},
    **{(p, 3): TRUTH[p] for p in ("P3", "P4")},
}


async def test_honest_inspectors_keep_the_true_order_whatever_they_were_sent_to_see(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    adjusted = await make_scene(session, inspectors=4, aggregation={"normalize": "rater_effects"}, **FLAT)
    await _rate(session, adjusted, HONEST)
    snapshot = await rank_round(sessions, adjusted.round.id)
    assert snapshot is not None
    assert _observations(snapshot.document) == [
        ("P1", 1, "90.00"),
        ("P2", 2, "80.00"),
        ("P3", 3, "79.00"),
        ("P4", 4, "65.00"),
        ("P5", None, None),
    ]
    fairness = snapshot.document["fairness"]
    assert {s["severity"] for s in fairness["inspectors"]} == {"0.00"}  # nobody lenient, nobody harsh
    assert fairness["rater_effects"]["applied"] is True and "warnings" not in fairness

    # per-inspector z-scores: the top-two inspector's 80 becomes 40, the bottom-two's 79 becomes 60
    z = await make_scene(session, inspectors=4, aggregation={"normalize": "zscore"}, **FLAT)
    await _rate(session, z, HONEST)
    snapshot = await rank_round(sessions, z.round.id)
    assert snapshot is not None
    assert [code for code, *_ in _observations(snapshot.document)][:4] == ["P1", "P3", "P2", "P4"]
    assert any("partial overlap" in w for w in snapshot.document["fairness"]["warnings"])


async def test_planted_rater_effects_come_back_on_a_partial_design(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """40 inspectors, 99 projects (and the scene's five, unscored), each project scored by 12
    inspectors drawn at random: every fitted effect within 0.5 of the planted one, and within
    four of its standard errors."""
    rng = random.Random(32)
    s = await make_scene(
        session, inspectors=40, more_projects=99, aggregation={"normalize": "rater_effects"}, **FLAT
    )
    planted = [rng.uniform(-8, 8) for _ in range(40)]
    mean = sum(planted) / 40
    planted = [e - mean for e in planted]  # centred, as the fit centres them
    quality = {f"Q{k:03d}": rng.uniform(55, 85) for k in range(99)}
    ratings = {
        (p, i): Decimal(str(round(q + planted[i] + rng.gauss(0, 0.75), 2)))
        for p, q in quality.items()
        for i in rng.sample(range(40), 12)
    }
    await _rate(session, s, ratings)
    snapshot = await rank_round(sessions, s.round.id)
    assert snapshot is not None
    fitted = {r["inspector_id"]: r for r in snapshot.document["fairness"]["inspectors"]}
    for i, inspector in enumerate(s.inspectors):
        found = fitted[str(inspector.id)]
        error = abs(Decimal(found["severity"]) - Decimal(str(planted[i])))
        assert error <= Decimal("0.5"), (i, found, planted[i])
        assert error <= 4 * Decimal(found["standard_error"]), (i, found)
        assert found["shared_projects"] == found["projects"] > 0
    assert snapshot.document["fairness"]["rater_effects"] == {
        "model": "score = project + inspector + error (least squares, effects centred at 0)",
        "groups": 1,
        "residual_sd": snapshot.document["fairness"]["rater_effects"]["residual_sd"],
        "applied": True,
    }
    assert abs(
        Decimal(snapshot.document["fairness"]["rater_effects"]["residual_sd"]) - Decimal("0.75")
    ) < Decimal("0.1")
    # the adjusted observations track the true quality; the raw ones carry the raters' effects
    observed = {
        r["code"]: Decimal(r["components"]["observation"]) for r in snapshot.document["projects"] if r["rank"]
    }
    assert max(abs(observed[p] - Decimal(str(q))) for p, q in quality.items()) < Decimal("1.5")
    raw = {p: sum(v for (q, _), v in ratings.items() if q == p) / 12 for p in quality}
    assert max(abs(raw[p] - Decimal(str(q))) for p, q in quality.items()) > Decimal(3)


async def test_inspectors_in_groups_that_share_no_project_are_ranked_raw_with_a_warning(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    s = await make_scene(session, inspectors=4, aggregation={"normalize": "rater_effects"}, **FLAT)
    await _rate(
        session,
        s,
        {
            ("P1", 0): Decimal(90), ("P1", 1): Decimal(80), ("P2", 0): Decimal(70), ("P2", 1): Decimal(60),
            ("P3", 2): Decimal(75), ("P3", 3): Decimal(65), ("P4", 2): Decimal(55), ("P4", 3): Decimal(45),
        },
    )  # fmt: skip
    snapshot = await rank_round(sessions, s.round.id)
    assert snapshot is not None
    fairness = snapshot.document["fairness"]
    assert fairness["rater_effects"]["groups"] == 2 and fairness["rater_effects"]["applied"] is False
    assert any("2 groups that share no project" in w and "raw scores" in w for w in fairness["warnings"])
    assert _observations(snapshot.document)[:4] == [
        ("P1", 1, "85.00"),
        ("P3", 2, "70.00"),
        ("P2", 3, "65.00"),
        ("P4", 4, "50.00"),
    ]
    # within each group the effects are still told, centred at 0
    assert sorted(r["severity"] for r in fairness["inspectors"]) == ["-5.00", "-5.00", "5.00", "5.00"]


def test_the_fit_agrees_with_least_squares_on_project_and_inspector_dummies() -> None:
    """An independent fit: numpy's lstsq on the full design matrix, inspectors effect-coded (the
    last one is minus the sum of the others, so the effects sum to 0), standard errors from
    σ²(XᵀX)⁻¹ carried to all the inspectors."""
    rng = random.Random(7)
    projects = [uuid.UUID(int=k + 1) for k in range(30)]
    inspectors = [uuid.UUID(int=1000 + k) for k in range(8)]
    ratings = [
        (p, i, rng.uniform(40, 100)) for p in projects for i in rng.sample(inspectors, rng.randint(1, 4))
    ]
    # every inspector is on some project with another (else the design could split)
    ratings += [(projects[0], i, rng.uniform(40, 100)) for i in inspectors if (projects[0], i) not in {
        (p, j) for p, j, _ in ratings
    }]  # fmt: skip
    fit = effects.fit(effects.Ratings.of(ratings))
    assert fit.groups == 1

    P, R = len(projects), len(inspectors)
    X = np.zeros((len(ratings), P + R - 1))
    y = np.array([v for _, _, v in ratings])
    for row, (p, i, _) in enumerate(ratings):
        X[row, projects.index(p)] = 1
        k = inspectors.index(i)
        if k < R - 1:
            X[row, P + k] = 1
        else:
            X[row, P:] = -1
    theta, *_ = np.linalg.lstsq(X, y, rcond=None)
    coding = np.vstack([np.eye(R - 1), -np.ones(R - 1)])  # inspectors' effects from the coded ones
    expected = coding @ theta[P:]
    residuals = y - X @ theta
    variance = residuals @ residuals / (len(ratings) - X.shape[1])
    covariance = variance * coding @ np.linalg.inv(X.T @ X)[P:, P:] @ coding.T
    for k, inspector in enumerate(inspectors):
        found = fit.inspectors[inspector]
        assert found.effect is not None and found.standard_error is not None
        assert abs(float(found.effect) - expected[k]) < 1e-5
        assert abs(float(found.standard_error) - np.sqrt(covariance[k, k])) < 1e-5
    assert fit.residual_sd is not None and abs(float(fit.residual_sd) - np.sqrt(variance)) < 1e-5


def test_an_inspector_sharing_no_project_has_no_effect_to_tell() -> None:
    a, b, c = (uuid.UUID(int=k) for k in (1, 2, 3))
    p, q, r = (uuid.UUID(int=k) for k in (11, 12, 13))
    fit = effects.fit(effects.Ratings.of([(p, a, 80.0), (p, b, 70.0), (q, a, 60.0), (r, c, 90.0)]))
    assert fit.groups == 2 and not fit.connected
    assert fit.inspectors[c] == effects.Effect(effect=None, standard_error=None, projects=1, shared=0)
    assert fit.inspectors[a].effect == Decimal("5.000000") and fit.inspectors[a].shared == 1
    assert fit.inspectors[a].standard_error is None  # nothing left over to estimate the error
