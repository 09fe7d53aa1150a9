"""The round scored by hand that the ranker's tests share (tests/ranker/test_scoring.py says
it in full): five projects of two units, six inspectors, a rubric of progress and quality."""

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import (
    AppUser,
    ObservationRound,
    ObservationScore,
    Program,
    Project,
    ProjectReport,
    RoundInspector,
    RoundProject,
    Unit,
)
from shared.program_settings import ProgramSettings

RUBRIC = [
    {"key": "progress", "name": "形象进度", "weight": "0.6", "max_score": "60"},
    {"key": "quality", "name": "质量安全", "weight": "0.4", "max_score": "40"},
]
CLOSES = datetime(2018, 9, 14, 10, tzinfo=UTC)
SCORES: dict[str, list[str]] = {
    "P1": ["90", "85", "80", "75", "70", "60"],
    "P2": ["70", "65", "60", "55"],
    "P3": ["60", "62.5", "65"],
    "P4": ["80", "70", "65", "60"],
    "P5": ["50.0125", "50"],
}
INVESTED = {"P1": "300", "P2": "150", "P3": "150"}  # 万元 reported by August


class Scene:
    def __init__(self) -> None:
        self.units: dict[str, Unit] = {}
        self.projects: dict[str, Project] = {}
        self.inspectors: list[AppUser] = []
        self.round: ObservationRound


async def make_scene(
    session: AsyncSession, *, inspectors: int = 6, more_projects: int = 0, **settings: Any
) -> Scene:
    """The scene's five projects and six inspectors; or as many inspectors, and `more_projects`
    named Q000… besides (U1's, in R1)."""
    s = Scene()
    tag = uuid.uuid4().hex[:6]
    office = Unit(code=f"OFF-{tag}", name="督查室", kind="office", path="/")
    office.path = f"/{office.id}/"
    session.add(office)
    for code in ("U1", "U2", "R1", "R2"):
        unit = Unit(code=f"{code}-{tag}", name=code, kind="government", parent_id=office.id)
        unit.path = f"{office.path}{unit.id}/"
        s.units[code] = unit
        session.add(unit)
    program = Program(code=f"BC-{tag}", name="重点项目", year=2018, office_unit_id=office.id,
                      settings=ProgramSettings().model_dump(mode="json"))  # fmt: skip
    session.add(program)
    await session.flush()
    homes = {
        "P1": ("U1", "R1"),
        "P2": ("U1", "R2"),
        "P3": ("U2", "R2"),
        "P4": ("U2", "R2"),
        "P5": ("U2", "R2"),
        **{f"Q{k:03d}": ("U1", "R1") for k in range(more_projects)},
    }
    for code, (unit, region) in homes.items():
        s.projects[code] = Project(
            program_id=program.id, code=code, name=f"项目{code}", category="现代产业",
            region_unit_id=s.units[region].id, owner_unit_id=s.units[unit].id,
            responsible_unit_id=s.units[unit].id, leader={"name": "张三", "title": "副县长"},
            construction="new", stage="construction", status="approved", total_investment=Decimal(1000),
            annual_plan=Decimal(600), start_date=date(2018, 1, 1), end_date=date(2019, 12, 31),
            created_by="t",
        )  # fmt: skip
        session.add(s.projects[code])
    for i in range(inspectors):
        user = AppUser(username=f"insp{i}-{tag}", display_name=f"督查员{i}", password_hash="-",
                       unit_id=office.id, roles=["inspector"])  # fmt: skip
        s.inspectors.append(user)
        session.add(user)
    await session.flush()
    for code, money in INVESTED.items():
        session.add(ProjectReport(
            project_id=s.projects[code].id, program_id=program.id, period="2018-08", version=1,
            investment_month=Decimal(money), investment_to_date=Decimal(money), progress_percent=Decimal(30),
            late=False, submitted_by="t", submitted_at=datetime(2018, 9, 3, tzinfo=UTC),
        ))  # fmt: skip
    s.round = ObservationRound(
        program_id=program.id, name="第三季度观摩", quarter="2018Q3",
        opens_at=datetime(2018, 9, 10, tzinfo=UTC), closes_at=CLOSES, rubric=settings.pop("rubric", RUBRIC),
        aggregation={"trim": 1, "min_raters_for_trim": 5, "normalize": "none",
                     **settings.pop("aggregation", {})},
        observation_weight=Decimal(settings.pop("observation_weight", "0.8")),
        objective_weights=settings.pop(
            "objective_weights", {"investment_rate": "0.2", "milestone_rate": "0", "report_timeliness": "0"}
        ),
        tie_break="investment_rate", state="closed", created_by="t",
    )  # fmt: skip
    session.add(s.round)
    await session.flush()
    session.add_all(RoundProject(round_id=s.round.id, project_id=p.id) for p in s.projects.values())
    session.add_all(RoundInspector(round_id=s.round.id, user_id=u.id) for u in s.inspectors)
    await session.commit()
    return s


def score_of(s: Scene, project: str, inspector: int, criterion: str, value: Decimal) -> ObservationScore:
    return ObservationScore(
        round_id=s.round.id, inspector_id=s.inspectors[inspector].id, project_id=s.projects[project].id,
        criterion=criterion, value=value, scored_at=datetime(2018, 9, 12, tzinfo=UTC), client_id=uuid.uuid4(),
        received_at=datetime(2018, 9, 12, tzinfo=UTC),
    )  # fmt: skip


async def score_all(session: AsyncSession, s: Scene, scores: dict[str, list[str]]) -> None:
    """Each total as progress (at most 60) + quality (the rest)."""
    for project, totals in scores.items():
        for i, total in enumerate(totals):
            progress = min(Decimal(total), Decimal(60)) if Decimal(total) > 40 else Decimal(total) / 2
            session.add(score_of(s, project, i, "progress", progress))
            session.add(score_of(s, project, i, "quality", Decimal(total) - progress))
    await session.commit()
