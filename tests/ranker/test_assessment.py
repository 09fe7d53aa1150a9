"""The annual grade from a program's published rounds, by hand: U1 scored 63.50 in the third
quarter's round (tests/ranker/test_scoring.py) and 90 in the fourth's; U2 50.00 and 55."""

import io
from datetime import UTC, datetime
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from services.api.rounds import excel
from services.ranker.assessment import publish
from services.ranker.scoring import rank_round
from shared.assessment import compute
from shared.models import (
    ObservationRound,
    OutboxMessage,
    Program,
    RoundInspector,
    RoundProject,
    YearEndEvaluation,
)
from shared.program_settings import ProgramSettings
from tests.ranker.scene import RUBRIC, Scene, score_all


async def _published(
    sessions: async_sessionmaker[AsyncSession], session: AsyncSession, rnd: ObservationRound
) -> None:
    snapshot = await rank_round(sessions, rnd.id)
    assert snapshot is not None
    rnd.state, rnd.published_version = "published", snapshot.version
    session.add(rnd)
    await session.commit()


async def _fourth_quarter(
    session: AsyncSession, s: Scene, u1: str = "90", u2: str = "55", name: str = "第四季度观摩"
) -> ObservationRound:
    """Observation only; one inspector; P1 and P2 (U1) 90, P3 to P5 (U2) 55."""
    rnd = ObservationRound(
        program_id=s.round.program_id, name=name, quarter="2018Q4",
        opens_at=datetime(2018, 12, 10, tzinfo=UTC), closes_at=datetime(2018, 12, 14, tzinfo=UTC),
        rubric=RUBRIC, aggregation={"trim": 1, "min_raters_for_trim": 5, "normalize": "none"},
        observation_weight=Decimal(1),
        objective_weights={"investment_rate": "0", "milestone_rate": "0", "report_timeliness": "0"},
        tie_break="investment_rate", state="closed", created_by="t",
    )  # fmt: skip
    session.add(rnd)
    await session.flush()
    session.add_all(RoundProject(round_id=rnd.id, project_id=p.id) for p in s.projects.values())
    session.add(RoundInspector(round_id=rnd.id, user_id=s.inspectors[0].id))
    await session.commit()
    first = s.round
    s.round = rnd
    await score_all(session, s, {"P1": [u1], "P2": [u1], "P3": [u2], "P4": [u2], "P5": [u2]})
    s.round = first
    return rnd


async def test_the_year_is_graded_from_its_published_rounds(
    scene: Scene,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    program = await session.get_one(Program, scene.round.program_id)
    await _published(sessions, session, scene.round)
    fourth = await _fourth_quarter(session, scene)
    only_third = await compute(session, program, 2018, None)
    assert [(u["name"], u["score"]) for u in only_third["units"]] == [("U1", "63.50"), ("U2", "50.00")]
    await _published(sessions, session, fourth)
    year = await compute(session, program, 2018, None)
    assert [(u["name"], u["score"], u["grade"]) for u in year["units"]] == [
        ("U1", "76.75", "pass"),  # (63.50 + 90) / 2
        ("U2", "52.50", "fail"),  # (50 + 55) / 2
    ]
    assert year["units"][0]["quarters"] == {"2018Q3": "63.50", "2018Q4": "90.00"}
    assert (await compute(session, program, 2018, 1))["units"] == []  # nothing published in H1
    assert len((await compute(session, program, 2018, 2))["rounds"]) == 2

    rules = {"quarter_weights": {"Q1": 1, "Q2": 1, "Q3": 1, "Q4": 3}, "excellent_from": 83, "pass_from": 60}
    program.settings = ProgramSettings.model_validate({**program.settings, "assessment": rules}).model_dump(
        mode="json"
    )
    session.add(program)
    await session.commit()
    weighted = await compute(session, program, 2018, None)
    assert [(u["score"], u["grade"]) for u in weighted["units"]] == [
        ("83.38", "excellent"),  # (63.50 + 3 × 90) / 4 = 83.375, half up
        ("53.75", "fail"),  # (50 + 3 × 55) / 4
    ]

    # the office's year-end evaluation is 40 % of the year: U1 0.6 × 83.375 + 0.4 × 70 = 78.03,
    # U2 (not evaluated yet) on its rounds alone
    rules = {**rules, "year_end_weight": 0.4}
    program.settings = ProgramSettings.model_validate({**program.settings, "assessment": rules}).model_dump(
        mode="json"
    )
    session.add(program)
    u1 = scene.units["U1"].id
    at = datetime.now(UTC)
    evaluated = YearEndEvaluation(program_id=program.id, year=2018, unit_id=u1, score=Decimal(70),
                                  entered_by="t", entered_at=at)  # fmt: skip
    session.add(evaluated)
    await session.commit()
    blended = await compute(session, program, 2018, None)
    assert [(u["name"], u["score"], u["grade"], u["year_end"]) for u in blended["units"]] == [
        ("U1", "78.03", "pass", "70.00"),
        ("U2", "53.75", "fail", None),
    ]
    second_half = await compute(session, program, 2018, 2)  # a half-year has no year-end evaluation
    assert [u["score"] for u in second_half["units"]] == ["83.38", "53.75"]
    record = await publish(session, program, 2018, None, by="user:office")
    await session.commit()
    assert record is not None and record.version == 1
    assert await publish(session, program, 2018, None, by="user:office") is None  # nothing changed
    event = await session.scalar(
        select(OutboxMessage).where(col(OutboxMessage.payload)["event"].astext == "assessment.published")
    )
    assert event is not None
    data = event.payload["data"]
    assert (data["year"], data["half"]) == (2018, None)
    assert [(u["score"], u["grade"]) for u in data["units"]] == [("78.03", "pass"), ("53.75", "fail")]


async def test_two_rounds_of_one_quarter_make_one_quarter(
    scene: Scene, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The office ran two observation rounds in the fourth quarter (U1 90 and 70): the quarter's
    score is their mean (80), and the year weighs it as one quarter beside the third's 63.50 —
    71.75, not (63.50 + 90 + 70) / 3."""
    program = await session.get_one(Program, scene.round.program_id)
    await _published(sessions, session, scene.round)
    await _published(sessions, session, await _fourth_quarter(session, scene))
    await _published(sessions, session, await _fourth_quarter(session, scene, "70", "55", "第四季度复查"))
    year = await compute(session, program, 2018, None)
    [u1, u2] = year["units"]
    assert (u1["name"], u1["score"], u1["quarters"]) == (
        "U1",
        "71.75",
        {"2018Q3": "63.50", "2018Q4": "80.00"},
    )
    assert (u2["name"], u2["score"]) == ("U2", "52.50")


def test_the_assessment_workbook_ranks_ties_alike() -> None:
    """Two units with the same score share a rank in the workbook (1, 1, 3), as in the results."""

    def unit(name: str, score: str, grade: str, **quarters: str) -> dict[str, object]:
        return {"name": name, "score": score, "grade": grade, "quarters": quarters}

    document = {
        "year": 2018, "half": None, "rounds": [{"quarter": q} for q in ("2018Q3", "2018Q4", "2018Q4")],
        "units": [unit("栾川县", "80.00", "pass", **{"2018Q3": "80.00", "2018Q4": "80.00"}),
                  unit("伊川县", "80.00", "pass", **{"2018Q3": "70.00", "2018Q4": "90.00"}),
                  unit("嵩县", "59.99", "fail", **{"2018Q3": "59.99"})],
    }  # fmt: skip
    sheet = load_workbook(io.BytesIO(excel.assessment(document, program="百城"))).active
    assert sheet is not None
    rows = [r for r in sheet.iter_rows(values_only=True) if r and r[1] in ("栾川县", "伊川县", "嵩县")]
    assert [(r[0], r[1]) for r in rows] == [(1, "栾川县"), (1, "伊川县"), (3, "嵩县")]
    header = next(r for r in sheet.iter_rows(values_only=True) if r and r[0] == "名次")
    assert header[-2:] == ("2018年第3季度", "2018年第4季度")  # one column a quarter


async def test_a_z_scored_round_in_the_year_is_warned_of(
    scene: Scene, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Grades are cut at 85 and 60 on the raw scale; a z-scored round sits around 50 whatever
    the projects' quality, so the assessment says which rounds were."""
    program = await session.get_one(Program, scene.round.program_id)
    await _published(sessions, session, scene.round)
    assert "warnings" not in await compute(session, program, 2018, None)
    fourth = await _fourth_quarter(session, scene)
    fourth.aggregation = {**fourth.aggregation, "normalize": "zscore"}
    session.add(fourth)
    await session.commit()
    await _published(sessions, session, fourth)
    year = await compute(session, program, 2018, None)
    assert (
        len(year["warnings"]) == 1 and "2018Q4" in year["warnings"][0] and "2018Q3" not in year["warnings"][0]
    )
