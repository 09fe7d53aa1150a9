"""A round scored by hand, to the cent (API.md "How a round is scored").

The rubric is progress (weight 0.6, out of 60) and quality (weight 0.4, out of 40), so an
inspector's score of a project is simply progress + quality. Composite = 0.8 × observation +
0.2 × investment rate (the other objective weights are 0); annual plans are 600 万元.

    project  unit  region  inspectors' scores                 observation  invest.  composite  rank
    P1       U1    R1      90 85 80 75 70 60 (trim 90 and 60)  77.5         50       72.00      1
    P2       U1    R2      70 65 60 55 (too few to trim)       62.5         25       55.00      2
    P3       U2    R2      60 62.5 65                          62.5         25       55.00      2
    P4       U2    R2      80 70 65 60                         68.75         0       55.00      4 (tie)
    P5       U2    R2      50.0125 50 (+ one incomplete)       50.00625      0       40.005 → 40.01  5
"""

import math
import random
import uuid
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.ranker import bootstrap
from services.ranker.scoring import krippendorff_alpha, rank_round, typed
from services.ranker.tasks import rank_round as rank_round_job
from shared.models import (
    RankerInbox,
    RoundSnapshot,
    SnapshotRatings,
)
from shared.ranking import cents
from tests.ranker.scene import SCORES, Scene, make_scene, score_all, score_of


def _rows(document: dict[str, Any], by: str) -> list[tuple[Any, ...]]:
    return [(r.get("code", r["name"]), r["rank"], r["score"]) for r in document[by]]


async def test_a_round_ranks_to_the_cent_as_worked_by_hand(
    scene: Scene, sessions: async_sessionmaker[AsyncSession]
) -> None:
    snapshot = await rank_round(sessions, scene.round.id)
    assert snapshot is not None and snapshot.version == 1
    doc = snapshot.document
    assert _rows(doc, "projects") == [
        ("P1", 1, "72.00"),
        ("P2", 2, "55.00"),
        ("P3", 2, "55.00"),
        ("P4", 4, "55.00"),  # the same composite, a lower investment rate
        ("P5", 5, "40.01"),  # 40.005, half up
    ]
    assert doc["fairness"]["bootstrap"] == {
        "resamples": 1000, "seed": 20180801, "interval": "2.5th to 97.5th percentile"
    }  # fmt: skip
    assert all(r["rank_interval"][0] <= r["rank_interval"][1] <= 5 for r in doc["projects"])
    p1, p2, *_, p5 = doc["projects"]
    assert p1["components"] == {
        "observation": "77.50",
        "investment_rate": "50.00",
        "milestone_rate": "100.00",
        "report_timeliness": p1["components"]["report_timeliness"],  # weight 0: shown, not counted
    }
    assert p1["raters"] == 6
    assert p1["trimmed_inspectors"] == sorted([str(scene.inspectors[0].id), str(scene.inspectors[5].id)])
    assert p2["trimmed_inspectors"] == [] and p2["components"]["observation"] == "62.50"  # 4 < 5: no trim
    assert p5["components"]["observation"] == "50.01"  # 50.00625
    assert p5["raters"] == 2 and p5["incomplete_inspectors"] == [str(scene.inspectors[5].id)]
    # a unit's score: the mean of its projects' unrounded composites
    assert [(r["name"], r["rank"], r["score"]) for r in doc["units"]] == [
        ("U1", 1, "63.50"),
        ("U2", 2, "50.00"),
    ]
    assert [(r["name"], r["rank"], r["score"]) for r in doc["regions"]] == [
        ("R1", 1, "72.00"),
        ("R2", 2, "51.25"),  # (55 + 55 + 55 + 40.005) / 4 = 51.25125
    ]


async def test_z_scores_put_a_lenient_and_a_harsh_inspector_on_one_scale(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Inspector 0 gives 80, 70, 60 (mean 70, population SD 8.1650): 62.25, 50, 37.75.
    Inspector 1 gives 90 to all three: each maps to 50. Observation is the whole composite."""
    s = await make_scene(
        session,
        aggregation={"normalize": "zscore"},
        observation_weight="1",
        objective_weights={"investment_rate": "0", "milestone_rate": "0", "report_timeliness": "0"},
    )
    await score_all(session, s, {"P1": ["80", "90"], "P2": ["70", "90"], "P3": ["60", "90"]})
    snapshot = await rank_round(sessions, s.round.id)
    assert snapshot is not None
    assert _rows(snapshot.document, "projects")[:3] == [
        ("P1", 1, "56.12"),
        ("P2", 2, "50.00"),
        ("P3", 3, "43.88"),
    ]
    severity = {r["inspector_id"]: r["severity"] for r in snapshot.document["fairness"]["inspectors"]}
    # raw scores: inspector 1 is 10, 20 and 30 above inspector 0, 20 on average; the two effects
    # are fitted jointly and centred at 0
    assert severity == {str(s.inspectors[0].id): "-10.00", str(s.inspectors[1].id): "10.00"}
    kept = await session.get(SnapshotRatings, (snapshot.id, s.projects["P1"].id))
    assert kept is not None
    z = dict(zip(kept.inspector_ids, kept.z, strict=True))
    assert round(z[s.inspectors[0].id], 4) == Decimal("62.2474") and z[s.inspectors[1].id] == 50
    # agreement is on the values the ranking uses: the z-mapped ones, not the raw (which give -0.8)
    units = []
    for code in ("P1", "P2", "P3"):
        row = await session.get(SnapshotRatings, (snapshot.id, s.projects[code].id))
        assert row is not None
        used = [Decimal(v) for v in row.z]
        units.append((len(used), sum(used, Decimal(0)), sum((v * v for v in used), Decimal(0))))
    assert snapshot.document["fairness"]["agreement"]["value"] == str(krippendorff_alpha(units))


async def test_a_rank_round_message_runs_once_however_often_it_is_delivered(
    scene: Scene, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The reconciler enqueues again every message its inbox has not recorded: the ranker records
    each rank_round it ran, changed results or not, so a redelivery does not compute it again."""
    message = str(uuid.uuid4())
    payload = {"round_id": str(scene.round.id)}
    ctx = {"sessions": sessions}
    assert await rank_round_job(ctx, message, payload) == "version 1"
    assert await rank_round_job(ctx, message, payload) == "duplicate"
    unchanged = str(uuid.uuid4())  # the same inputs: no new version, still recorded as applied
    assert await rank_round_job(ctx, unchanged, payload) == "version 1"
    assert await rank_round_job(ctx, unchanged, payload) == "duplicate"
    inbox = await session.scalars(select(RankerInbox.message_id).where(col(RankerInbox.job) == "rank_round"))
    assert {str(m) for m in inbox.all()} >= {message, unchanged}


async def test_the_same_scores_give_the_same_snapshot_and_a_late_score_a_new_version(
    scene: Scene, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await rank_round(sessions, scene.round.id)
    again = await rank_round(sessions, scene.round.id)
    assert first is not None and again is not None
    assert (again.id, again.version, again.digest) == (first.id, 1, first.digest)
    session.add(score_of(scene, "P5", 5, "quality", Decimal(40)))  # the incomplete rubric completed, late
    await session.commit()
    later = await rank_round(sessions, scene.round.id)
    assert later is not None and later.version == 2 and later.digest != first.digest
    kept = await session.scalar(
        select(RoundSnapshot)
        .where(col(RoundSnapshot.id) == first.id)
        .execution_options(populate_existing=True)
    )
    assert kept is not None and kept.document == first.document and kept.digest == first.digest
    assert later.document["projects"][4]["raters"] == 3  # P5 now has three complete rubrics


def test_krippendorff_alpha_is_one_when_inspectors_agree_and_falls_when_they_do_not() -> None:
    same = [(2, Decimal(160), Decimal(12800)), (2, Decimal(140), Decimal(9800))]  # 80/80 and 70/70
    assert krippendorff_alpha(same) == 1
    # 80/70 and 70/80: all disagreement, no signal
    crossed = [(2, Decimal(150), Decimal(11300)), (2, Decimal(150), Decimal(11300))]
    assert krippendorff_alpha(crossed) is not None and krippendorff_alpha(crossed) < 0


@pytest.mark.parametrize("aggregation", [{}, {"trim": 2, "min_raters_for_trim": 4}, {"trim": 0}])
async def test_the_sql_trimming_is_the_bootstraps_on_the_identity_resample(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession], aggregation: dict[str, int]
) -> None:
    """The rank intervals resample inspectors and trim in Python; the published observation is
    trimmed in SQL. Drawn once each (the identity resample), the bootstrap's trimmed mean of every
    project is its published observation, to the cent — with ties at the cut (P4's 60 and 60)."""
    s = await make_scene(session, aggregation=aggregation)
    await score_all(session, s, SCORES | {"P4": ["80", "70", "60", "60", "60"]})
    await session.commit()
    snapshot = await rank_round(sessions, s.round.id)
    assert snapshot is not None
    settings = snapshot.document["settings"]["aggregation"]
    kept = {
        k.project_id: sorted(float(v) for v, complete in zip(k.scores, k.complete, strict=True) if complete)
        for k in await session.scalars(
            select(SnapshotRatings).where(col(SnapshotRatings.snapshot_id) == snapshot.id)
        )
    }
    for row in snapshot.document["projects"]:
        values = kept[uuid.UUID(row["id"])]
        drawn = bootstrap._trimmed_mean(
            values, [1] * len(values), settings["trim"], settings["min_raters_for_trim"]
        )
        observation = row["components"]["observation"]
        if drawn is None:  # every rating trimmed away (4 raters, 2 off each end): none in SQL too
            assert observation is None and row["rank"] is None, row["code"]
        else:
            assert cents(Decimal(str(drawn))) == Decimal(observation), row["code"]


async def test_the_results_document_is_its_type_a_drifted_one_is_refused(
    scene: Scene, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """What the api, the workbooks and the assessment read (shared.ranking.RoundResults) is the
    document the ranker computed, field for field: a field the type does not know is refused
    rather than stored and silently dropped on reading."""
    snapshot = await rank_round(sessions, scene.round.id)
    assert snapshot is not None
    doc = snapshot.document
    assert typed(doc) == doc
    drifted = doc | {"projects": [doc["projects"][0] | {"new_component_total": "1.00"}, *doc["projects"][1:]]}
    with pytest.raises(TypeError, match=r"\.projects\[0\]\.new_component_total"):
        typed(drifted)


async def test_an_exact_half_cent_rounds_up(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Ratings 80.005, 80.01 and 80.01 average 80.00833…; with weights 0.6 / 0.2 / 0.1 / 0.1 and
    components 0 / 100 / 0 the composite is exactly 58.005, which is 58.01 half up — not 58.00, as
    a division cut short at its last digit made it."""
    s = await make_scene(
        session, observation_weight="0.6",
        objective_weights={"investment_rate": "0.2", "milestone_rate": "0.1", "report_timeliness": "0.1"},
    )  # fmt: skip
    await score_all(session, s, {"P4": ["80.005", "80.01", "80.01"]})
    snapshot = await rank_round(sessions, s.round.id)
    assert snapshot is not None
    [p4] = [r for r in snapshot.document["projects"] if r["code"] == s.projects["P4"].code]
    parts = ("observation", "investment_rate", "milestone_rate", "report_timeliness")
    assert [p4["components"][k] for k in parts] == ["80.01", "0.00", "100.00", "0.00"]
    assert p4["score"] == "58.01"


async def test_a_rating_of_exactly_a_half_cent_rounds_up(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Three criteria of weight 1 out of 3 and one of weight 1 out of 1000, scored 1, 1, 1 and 0.2:
    100 × (1/3 + 1/3 + 1/3 + 0.0002) / 4 is exactly 25.005, so 25.01."""
    rubric = [{"key": k, "name": k, "weight": "1", "max_score": "3"} for k in ("a", "b", "c")]
    rubric.append({"key": "d", "name": "d", "weight": "1", "max_score": "1000"})
    none = {"investment_rate": "0", "milestone_rate": "0", "report_timeliness": "0"}
    s = await make_scene(session, rubric=rubric, observation_weight="1", objective_weights=none)
    for criterion, value in (("a", "1"), ("b", "1"), ("c", "1"), ("d", "0.2")):
        session.add(score_of(s, "P1", 0, criterion, Decimal(value)))
    await session.commit()
    snapshot = await rank_round(sessions, s.round.id)
    assert snapshot is not None
    [p1] = [r for r in snapshot.document["projects"] if r["code"] == s.projects["P1"].code]
    assert (p1["components"]["observation"], p1["score"]) == ("25.01", "25.01")


async def test_the_tie_break_counts_even_without_a_weight(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A round on observation alone (no objective weights) still breaks a tie by its tie-break
    component: P1 (half its plan invested) above P3 (a quarter), both scored 80."""
    s = await make_scene(session, observation_weight="1", objective_weights={})
    await score_all(session, s, {"P1": ["80"], "P3": ["80"]})
    snapshot = await rank_round(sessions, s.round.id)
    assert snapshot is not None
    ranked = {r["code"]: (r["rank"], r["components"]) for r in snapshot.document["projects"] if r["rank"]}
    assert ranked[s.projects["P1"].code][0] == 1 and ranked[s.projects["P3"].code][0] == 2
    assert ranked[s.projects["P1"].code][1] == {"observation": "80.00", "investment_rate": "50.00"}


async def test_a_project_without_an_annual_plan_is_not_given_full_marks_for_it(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """P4 has no annual plan this year: its investment rate is not applicable (not 100), and its
    composite is its observation alone, the observation's 0.8 weighed up to 1."""
    s = await make_scene(session)
    s.projects["P4"].annual_plan = Decimal(0)
    session.add(s.projects["P4"])
    await session.commit()
    await score_all(session, s, {"P4": ["70", "72"]})
    snapshot = await rank_round(sessions, s.round.id)
    assert snapshot is not None
    [p4] = [r for r in snapshot.document["projects"] if r["code"] == s.projects["P4"].code]
    assert p4["components"]["investment_rate"] is None
    assert (p4["components"]["observation"], p4["score"]) == ("71.00", "71.00")  # not 0.8 × 71 + 20


async def test_composites_round_as_exact_fractions_do(session: AsyncSession) -> None:
    """Against an exact-fraction reference, over 400 seeded cases half of them exact half cents: the mean
    PostgreSQL takes of the ratings, weighed as the ranker weighs it and rounded by cents(), is the
    exact composite rounded half up to the cent."""
    rng = random.Random(20181012)
    cases = 0
    while cases < 400:
        ow = Decimal(rng.choice([3, 6, rng.randint(1, 10)])) / 10
        component = Decimal(rng.randint(0, 10_000)) / 100
        if cases % 2:  # any ratings
            ratings = [Decimal(rng.randint(0, 100_000)) / 1000 for _ in range(rng.randint(1, 7))]
        else:  # three ratings whose repeating mean weighs up to an exact half cent
            half = Decimal(rng.randint(0, 9_999) * 10 + 5) / 1000 - (1 - ow) * component
            total = 3 * half / ow
            first = (total / 3).quantize(Decimal("0.001"))
            ratings = [first, first, total - 2 * first]
            if (
                half <= 0
                or not all(0 <= r <= 100 for r in ratings)
                or total != total.quantize(Decimal("0.0001"))
            ):
                continue
        cases += 1
        n = len(ratings)
        mean = await session.scalar(
            text("SELECT avg(v) FROM unnest(CAST(:v AS numeric[])) AS v"), {"v": ratings}
        )
        ranked = cents(ow * Decimal(mean) + (1 - ow) * component)
        exact = Fraction(sum(ratings)) / n * Fraction(ow) + (1 - Fraction(ow)) * Fraction(component)
        floor_cents = math.floor(exact * 100)
        half_up = floor_cents + (1 if exact * 100 - floor_cents >= Fraction(1, 2) else 0)
        assert ranked == Decimal(half_up) / 100, (ratings, ow, component)


async def test_z_scores_under_partial_overlap_come_with_a_warning(
    session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Two inspectors score every project; a third only the two strongest: z-scoring it maps its
    strong projects as if they were average. The results say so (the full-overlap round of the
    test above says nothing)."""
    s = await make_scene(
        session, aggregation={"normalize": "zscore"}, observation_weight="1",
        objective_weights={"investment_rate": "0", "milestone_rate": "0", "report_timeliness": "0"},
    )  # fmt: skip
    await score_all(session, s, {"P1": ["90", "90", "90"], "P2": ["80", "80", "80"], "P3": ["60", "60"]})
    snapshot = await rank_round(sessions, s.round.id)
    assert snapshot is not None
    [warning] = snapshot.document["fairness"]["warnings"]
    assert "partial overlap" in warning
    full = await make_scene(session, aggregation={"normalize": "zscore"})
    await score_all(session, full, {"P1": ["90", "70"], "P2": ["80", "75"]})
    quiet = await rank_round(sessions, full.round.id)
    assert quiet is not None and "warnings" not in quiet.document["fairness"]
