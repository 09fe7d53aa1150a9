"""Rank intervals from a seeded bootstrap over inspectors: they reproduce, they are tight where
every inspector agrees on the order, and wide enough to flag a praise that could have gone the
other way."""

import uuid
from decimal import Decimal

from services.ranker import bootstrap
from services.ranker.bootstrap import Project, _trimmed_mean, distinguishable, intervals


def test_a_resample_counts_an_inspector_drawn_twice_twice_and_trims_by_value() -> None:
    values = [60.0, 70.0, 80.0, 90.0, 100.0]  # inspectors 0 to 4, lowest first
    assert _trimmed_mean(values, [1, 1, 1, 1, 1], trim=1, min_raters=5) == 80  # 60 and 100 dropped
    # inspector 0 twice, 1 never: 60 60 80 90 100, one 60 and the 100 dropped
    assert abs(_trimmed_mean(values, [2, 0, 1, 1, 1], trim=1, min_raters=5) - 230 / 3) < 1e-9
    assert _trimmed_mean(values, [0, 0, 2, 1, 0], trim=1, min_raters=5) == 250 / 3  # too few to trim
    assert _trimmed_mean(values, [0, 0, 0, 0, 0], trim=1, min_raters=5) is None


def _project(scores: list[float], unit: uuid.UUID) -> Project:
    return Project(
        id=uuid.uuid4(),
        unit_id=unit,
        region_id=unit,
        objective=0.0,
        ratings=sorted(enumerate(scores), key=lambda r: (r[1], r[0])),
    )


def test_intervals_reproduce_and_are_tight_when_every_inspector_agrees_on_the_order() -> None:
    units = [uuid.uuid4() for _ in range(3)]
    first, second, third = (
        _project(s, u) for s, u in zip(([90, 91, 89], [50, 52, 51], [49, 51, 50]), units, strict=True)
    )
    run = intervals([first, second, third], inspectors=3, weight=Decimal(1), trim=1, min_raters=5)
    assert run == intervals([first, second, third], inspectors=3, weight=Decimal(1), trim=1, min_raters=5)
    resamples, found = run
    assert resamples == bootstrap.MOST  # a small round: the most resamples
    assert [found["projects"][p.id] for p in (first, second, third)] == [[1, 1], [2, 2], [3, 3]]
    assert distinguishable(found["projects"][first.id], 1, cut=1, total=3, bottom=False)
    assert distinguishable(found["projects"][third.id], 3, cut=1, total=3, bottom=True)


def test_a_praise_that_depends_on_which_inspectors_came_is_not_distinguishable() -> None:
    """Inspector 0 prefers D by 20, inspector 1 E by 20, inspector 2 D by 2: D is first on the
    mean (70.33 to 69.67), but not once inspector 1 is drawn more often than inspector 0."""
    unit_d, unit_e = uuid.uuid4(), uuid.uuid4()
    d, e = _project([80, 60, 71], unit_d), _project([60, 80, 69], unit_e)
    _, found = intervals([d, e], inspectors=3, weight=Decimal(1), trim=1, min_raters=5)
    assert found["projects"][d.id] == [1, 2] and found["projects"][e.id] == [1, 2]
    assert not distinguishable(found["projects"][d.id], 1, cut=1, total=2, bottom=False)
    assert found["units"][unit_d] == [1, 2]


def test_a_large_round_draws_fewer_resamples_within_its_budget() -> None:
    assert bootstrap.resamples(100_000) == bootstrap.FEWEST
    assert bootstrap.resamples(2_000) == bootstrap.MOST == 1000  # a county's round: 1,000 resamples
    assert bootstrap.resamples(4_000) == 500
    assert bootstrap.resamples(20_000) == 100


def test_a_resample_missing_a_projects_only_rater_keeps_the_project() -> None:
    """X is scored 95 by inspector 0 alone; Y 80 and Z 60 by all five. A resample that draws no
    inspector 0 keeps X at its 95 instead of dropping it, so Y never climbs to first: its interval
    is [2, 2], not [1, 2]."""
    units = [uuid.uuid4() for _ in range(3)]
    x = _project([95], units[0])
    y, z = (_project([v] * 5, u) for v, u in ((80, units[1]), (60, units[2])))
    _, found = intervals([x, y, z], inspectors=5, weight=Decimal(1), trim=1, min_raters=5)
    assert [found["projects"][p.id] for p in (x, y, z)] == [[1, 1], [2, 2], [3, 3]]
