"""A small world of units and principals, inside the test's rolled-back transaction: fixtures
(`world`, `approved`, `operator`) every test package gets through tests/conftest.py's
`pytest_plugins`, and the helpers they share.

P  Henan province office            Q  Hebei province office (another tree)
└─ C  Luoyang city                  └─ QC  a Hebei county
   ├─ A  Luanchuan county
   │  └─ D  county transport department
   └─ B  Yichuan county

Programs: "P" run by P (shared down to A, B, C, D), "Q" run by Q. A task in each. Projects:
"A" (program P; region A, owner D, responsible A), "B" (program P; all B), "QC" (program Q;
all QC) — each submitted, so reviewers can act on them.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.auth.passwords import hash_secret
from services.api.auth.principal import issue_token
from shared import clock
from shared.clock import OFFICE_TZ
from shared.filestore import DirectoryStore
from shared.models import (
    ApiClient,
    AppUser,
    EvidenceFile,
    Finding,
    Notice,
    NoticeChain,
    ObservationRound,
    Problem,
    Program,
    Project,
    RoundInspector,
    RoundProject,
    Task,
    TaskTarget,
    TaskUnit,
    Team,
    TeamCover,
    TeamMember,
    Unit,
    Visit,
    Webhook,
)
from shared.program_settings import ProgramSettings
from shared.settings import ApiSettings

PASSWORD = "Luanchuan2018"
CLIENT_SCOPES = ["units:read", "programs:read", "projects:read", "calendar:read", "reports:read"]


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_secret(PASSWORD)  # argon2 is slow on purpose: hash once


@dataclass
class World:
    units: dict[str, Unit] = field(default_factory=dict)
    users: dict[str, AppUser] = field(default_factory=dict)
    clients: dict[str, ApiClient] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    programs: dict[str, Program] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    problems: dict[str, Problem] = field(default_factory=dict)
    notices: dict[str, Notice] = field(default_factory=dict)
    rounds: dict[str, ObservationRound] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    visits: dict[str, Visit] = field(default_factory=dict)
    findings: dict[str, Finding] = field(default_factory=dict)
    files: dict[str, EvidenceFile] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who in self.tokens else {}


# principal name → (home unit, roles)
PEOPLE = {
    "p_admin": ("P", ["office_admin"]),
    "p_staff": ("P", ["office_staff"]),
    "p_auditor": ("P", ["auditor"]),
    "a_reporter": ("A", ["reporter"]),
    "a_leader": ("A", ["leader"]),
    "a_inspector": ("A", ["inspector"]),
    "b_admin": ("B", ["office_admin"]),
    "q_admin": ("Q", ["office_admin"]),
}


@pytest.fixture
async def world(session: AsyncSession, api_settings: ApiSettings, password_hash: str) -> World:
    w = World()
    tree = [
        ("P", None, "office"),
        ("C", "P", "government"),
        ("A", "C", "government"),
        ("D", "A", "department"),
        ("B", "C", "government"),
        ("Q", None, "office"),
        ("QC", "Q", "government"),
    ]
    suffix = uuid.uuid4().hex[:6]
    for code, parent, kind in tree:
        uid = uuid.uuid4()
        path = (w.units[parent].path if parent else "/") + f"{uid}/"
        parent_id = w.units[parent].id if parent else None
        w.units[code] = Unit(
            id=uid, code=f"{code}-{suffix}", name=code, kind=kind, parent_id=parent_id, path=path
        )
        session.add(w.units[code])
    await session.flush()  # once for the tree: its rows go in the order added, parents first
    for name, (home, roles) in PEOPLE.items():
        user = AppUser(
            username=f"{name}-{suffix}",
            display_name=name,
            password_hash=password_hash,
            unit_id=w.units[home].id,
            roles=roles,
        )
        session.add(user)
        w.users[name] = user
    for home in ("A", "B", "Q"):
        client = ApiClient(
            client_id=f"cli_{home}_{suffix}",
            name=f"bank of {home}",
            secret_hash=password_hash,
            unit_id=w.units[home].id,
            scopes=CLIENT_SCOPES,
        )
        session.add(client)
        w.clients[home] = client
    await session.commit()
    for name, user in w.users.items():
        w.tokens[name], _ = issue_token(api_settings, subject=f"user:{user.id}", extra={})
    w.tokens["a_client"], _ = issue_token(
        api_settings, subject=f"client:{w.clients['A'].id}", extra={"scope": " ".join(CLIENT_SCOPES)}
    )
    await _library(session, w, suffix)
    await _supervision(session, w, DirectoryStore(Path(api_settings.file_store)))
    return w


async def _library(session: AsyncSession, w: World, suffix: str) -> None:
    for office in ("P", "Q"):
        w.programs[office] = Program(
            code=f"PRG-{office}-{suffix}",
            name=f"百城建设提质工程 {office}",
            year=2018,
            office_unit_id=w.units[office].id,
            categories=["现代基础设施", "公共服务"],
            settings=ProgramSettings().model_dump(mode="json"),
        )
        session.add(w.programs[office])
    await session.flush()
    for office in ("P", "Q"):
        w.tasks[office] = Task(program_id=w.programs[office].id, number="1", title="路网建设")
        session.add(w.tasks[office])
    await session.flush()  # what refers to them goes in the next flush (rows of one flush are not
    # ordered by their foreign keys across tables)
    for office, unit in (("P", "A"), ("Q", "QC")):
        task = w.tasks[office]
        session.add(TaskUnit(task_id=task.id, unit_id=w.units[unit].id, role="responsible"))
        session.add(
            TaskTarget(
                task_id=task.id,
                indicator="路网密度",
                unit="km/km²",
                target_value=Decimal(7),
                due_date=date(2018, 12, 31),
            )
        )
    chains: dict[str, NoticeChain] = {}
    for name, program, owner in (("A", "P", "D"), ("B", "P", "B"), ("QC", "Q", "QC")):
        w.projects[name] = Project(
            program_id=w.programs[program].id,
            code=f"PJ-{name}",
            name=f"{name} 县道改造",
            category="现代基础设施",
            region_unit_id=w.units[name].id,
            owner_unit_id=w.units[owner].id,
            responsible_unit_id=w.units[name].id,
            leader={"name": "张三", "title": "副县长"},
            construction="new",
            stage="construction",
            status="submitted",
            total_investment=Decimal("1000.00"),
            annual_plan=Decimal("600.00"),
            start_date=date(2018, 1, 1),
            end_date=date(2019, 12, 31),
            monthly_plan={"2018-03": "100.00"},
            created_by="test",
        )
        session.add(w.projects[name])
        w.webhooks[name] = Webhook(
            unit_id=w.units[name].id,
            url="https://example.cn/h",
            events=["project.approved"],
            secret_encrypted="-",
            created_by="t",
        )
        session.add(w.webhooks[name])
        w.problems[name] = Problem(
            program_id=w.programs[program].id,
            owner_unit_id=w.units[name].id,
            title="征地拆迁滞后",
            deadline=date(2018, 10, 17),
            raised_at=datetime(2018, 9, 28, tzinfo=UTC),
        )
        session.add(w.problems[name])
        chain = NoticeChain(
            program_id=w.programs[program].id, rule="report_due", subject_type="project",
            subject_id=w.projects[name].id, schedule_kind="project_monthly", period="2018-08",
            recipient_unit_id=w.units[name].id, due_date=date(2018, 8, 22), policy={}, level=1,
            opened_at=datetime(2018, 8, 23, tzinfo=UTC),
        )  # fmt: skip
        session.add(chain)
        chains[name] = chain
    await session.flush()
    for name, chain in chains.items():
        w.notices[name] = Notice(
            chain_id=chain.id, program_id=chain.program_id, kind="urging", level=1,
            recipient_unit_id=chain.recipient_unit_id, recipient="unit", subject_type="project",
            subject_id=chain.subject_id, period="2018-08", requirements="请立即报送",
            issued_on=date(2018, 8, 23), issued_at=datetime(2018, 8, 23, 1, tzinfo=UTC),
            due_date=date(2018, 8, 30),
        )  # fmt: skip
        session.add(w.notices[name])
    for office in ("P", "Q"):  # a draft observation round of each program, county A's inspector in P's
        w.rounds[office] = ObservationRound(
            program_id=w.programs[office].id, name="第三季度观摩", quarter="2018Q3",
            opens_at=datetime(2018, 9, 10, tzinfo=UTC), closes_at=datetime(2018, 9, 14, tzinfo=UTC),
            rubric=[{"key": "progress", "name": "形象进度", "weight": "1", "max_score": "100"}],
            aggregation={"trim": 1, "min_raters_for_trim": 5, "normalize": "none"},
            observation_weight=Decimal("0.6"),
            objective_weights={"investment_rate": "0.2", "milestone_rate": "0.1", "report_timeliness": "0.1"},
            tie_break="investment_rate", created_by="test",
        )  # fmt: skip
        session.add(w.rounds[office])
    await session.flush()
    session.add(RoundInspector(round_id=w.rounds["P"].id, user_id=w.users["a_inspector"].id))
    for name, office in (("A", "P"), ("B", "P"), ("QC", "Q")):
        session.add(RoundProject(round_id=w.rounds[office].id, project_id=w.projects[name].id))
    await session.commit()


async def _supervision(session: AsyncSession, w: World, store: DirectoryStore) -> None:
    """A standing team watching each county (P's led by its staff, county A's inspector a member;
    Q's led by its admin), a visit of each with one finding on the county's project, and a PDF."""
    for name, office in (("A", "P"), ("B", "P"), ("QC", "Q")):
        leader = w.users["p_staff" if office == "P" else "q_admin"]
        program_id = w.programs[office].id
        w.teams[name] = Team(
            program_id=program_id, name=f"督查组 {name}", leader_user_id=leader.id,
            cadence=[{"kind": "on_site", "every_working_days": 40}], since=date(2018, 9, 3),
            created_by="test",
        )  # fmt: skip
        session.add(w.teams[name])
    await session.flush()
    for name in ("A", "B", "QC"):
        team = w.teams[name]
        session.add(TeamCover(program_id=team.program_id, target_type="unit", target_id=w.units[name].id,
                              team_id=team.id))  # fmt: skip
        w.visits[name] = Visit(
            program_id=team.program_id, team_id=team.id, kind="on_site", visited_on=date(2018, 9, 4),
            places=["施工现场"], project_ids=[w.projects[name].id], participants=["张三"], created_by="test",
        )  # fmt: skip
        session.add(w.visits[name])
    session.add(TeamMember(team_id=w.teams["A"].id, user_id=w.users["a_inspector"].id))
    await session.flush()
    for name in ("A", "B", "QC"):
        visit = w.visits[name]
        w.findings[name] = Finding(
            visit_id=visit.id, program_id=visit.program_id, unit_id=w.units[name].id,
            project_id=w.projects[name].id, severity="major", requirement="扬尘治理不到位",
            due_date=date(2018, 9, 11), notice_id=uuid.uuid4(), opened_at=datetime(2018, 9, 4, 2, tzinfo=UTC),
        )  # fmt: skip
        session.add(w.findings[name])
        content = f"%PDF-1.4\n% 督查记录 {name}\n".encode()
        sha256 = await store.put(content)
        w.files[name] = EvidenceFile(
            visit_id=visit.id, sha256=sha256, media_type="application/pdf", size=len(content),
            filename="记录.pdf", received_at=datetime(2018, 9, 4, 3, tzinfo=UTC), uploaded_by="test",
        )  # fmt: skip
        session.add(w.files[name])
    await session.commit()


@pytest.fixture
def operator(client: AsyncClient, world: World) -> AsyncClient:
    """The api client, signed in as the province office's admin."""
    client.headers.update(world.auth("p_admin"))
    return client


def at(text: str) -> clock.FixedClock:
    """A clock at a Beijing time: at("2018-10-08 10:00")."""
    return clock.FixedClock(datetime.fromisoformat(text).replace(tzinfo=OFFICE_TZ))


@pytest.fixture
async def approved(world: World, session: AsyncSession) -> World:
    """Project A approved, so it owes project monthly reports."""
    world.projects["A"].status = "approved"
    await session.commit()
    return world


def new_project(world: World, unit: str = "A", **extra: Any) -> dict[str, Any]:
    """A project's body for POST /projects, in program P, responsible unit `unit`."""
    return {
        "program_id": str(world.programs["P"].id),
        "code": f"LC-{uuid.uuid4().hex[:6]}",
        "name": "栾川县伏牛山滑雪度假区提升工程",
        "category": "现代基础设施",
        "region_unit_id": str(world.units[unit].id),
        "owner_unit_id": str(world.units["D" if unit == "A" else unit].id),
        "responsible_unit_id": str(world.units[unit].id),
        "leader": {"name": "王五", "title": "副县长"},
        "service_team": [{"role": "手续办理人员", "name": "赵六"}],
        "construction": "new",
        "stage": "preparation",
        "total_investment": "12000.50",
        "annual_plan": "6000",
        "start_date": "2018-03-01",
        "end_date": "2019-10-31",
        "milestones": [
            {"name": "开工", "planned_date": "2018-04-15"},
            {"name": "主体完工", "planned_date": "2019-06-30"},
        ],
        "monthly_plan": {"2018-04": "500", "2018-05": "800.25"},
        **extra,
    }
