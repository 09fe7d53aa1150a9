"""The performance tricks answer exactly as the plain framework would.

- PathIndex (services/api/routing.py) routes each request through the routes that can match its
  path's first segments instead of Starlette trying every route: every route, method and a set
  of odd paths must get the same answer with it and without it.
- driver_connection (shared/db.py) reaches into SQLAlchemy's asyncpg adapter for the raw
  connection so a filing is one round trip: it must still commit exactly once, with its request.
"""

import json
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.api.auth.principal import issue_token
from services.api.routing import PathIndex
from shared import clock
from shared.db import session_factory
from shared.models import AppUser, AuditEntry, Problem, Program, Project, ProjectReport, Unit
from shared.program_settings import ProgramSettings
from shared.settings import ApiSettings
from tests.world import World

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ODD_PATHS = [
    "/api/v1/nope",
    "/api/v1/projects/",
    "/api/v1/projects/import",
    "/api/v1/projects/export.xlsx",
    "/api/v1/projects/not-a-uuid",
    "/api/v1/calendar/add-working-days",
    "/api/v1/calendar/2018",
    "/api/v1/calendar/two-thousand",
    "/api/v1/units/" + str(uuid.uuid4()) + "/reports/extra",
    "/healthz",
    "/readyz/",
    "/openapi.json",
    "/",
]


def _paths(spec: dict[str, Any]) -> list[str]:
    """Every path template of the api with its parameters filled in."""
    out = []
    for template in spec["paths"]:
        path = re.sub(r"\{year[^}]*\}", "2018", template)
        out.append(re.sub(r"\{[^}]+\}", str(uuid.UUID(int=7)), path))
    return out


def _answer(response: Any) -> tuple[int, str | None, str | None, Any]:
    body: Any = response.text
    kind = response.headers.get("content-type", "")
    if response.request.url.path == "/metrics" or not (kind.startswith("text/") or kind.endswith("json")):
        body = None  # counters move with every request; workbooks carry the time they were written
    if response.headers.get("content-type", "").endswith("json"):
        body = json.loads(response.text)
        if isinstance(body, dict):
            body.pop("request_id", None)
            body.pop("instance", None)
    return response.status_code, response.headers.get("allow"), response.headers.get("content-type"), body


@pytest.mark.parametrize("signed_in", [False, True])
async def test_every_route_answers_the_same_with_and_without_the_path_index(
    app: Any, client: AsyncClient, world: World, signed_in: bool
) -> None:
    assert isinstance(app.router.middleware_stack, PathIndex)  # the api runs with it
    spec = (await client.get("/openapi.json")).json()
    requests = [(m, p) for p in [*_paths(spec), *ODD_PATHS] for m in METHODS]
    if signed_in:  # reads only: the two passes must see the same data
        requests = [(m, p) for m, p in requests if m == "GET"]
    headers = world.auth("p_admin") if signed_in else {}

    async def answers() -> list[Any]:
        return [_answer(await client.request(m, p, headers=headers)) for m, p in requests]

    indexed = await answers()
    index = app.router.middleware_stack
    app.router.middleware_stack = app.router.app  # Starlette's own routing: every route in turn
    try:
        plain = await answers()
    finally:
        app.router.middleware_stack = index
    differ = [(r, a, b) for r, a, b in zip(requests, indexed, plain, strict=True) if a != b]
    assert differ == []
    assert len(requests) > (50 if signed_in else 250) and {a[0] for a in indexed} >= (
        {404, 405, 401} if not signed_in else {200, 404}
    )


_REFUSE = (
    """CREATE FUNCTION test_refuse_problem() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.title = 'refused by the test' THEN RAISE EXCEPTION 'refused by the test'; END IF;
    RETURN NEW;
END $$""",
    """CREATE TRIGGER test_refuse_problem BEFORE INSERT ON problem
    FOR EACH ROW EXECUTE FUNCTION test_refuse_problem()""",
)


async def _committed_project(engine: AsyncEngine, password_hash: str) -> tuple[uuid.UUID, uuid.UUID]:
    """An office, its admin and an approved project, committed (the filing commits for real here)."""
    tag = uuid.uuid4().hex[:8]
    async with session_factory(engine)() as s:
        office_id = uuid.uuid4()
        s.add(Unit(id=office_id, code=f"T-{tag}", name="栾川县", kind="office", path=f"/{office_id}/"))
        await s.flush()
        user = AppUser(
            username=f"t-{tag}",
            display_name="t",
            password_hash=password_hash,
            unit_id=office_id,
            roles=["office_admin"],
        )
        program = Program(
            code=f"T-{tag}", name="重点项目", year=2018, office_unit_id=office_id,
            settings=ProgramSettings().model_dump(mode="json"),
        )  # fmt: skip
        s.add_all([user, program])
        await s.flush()
        project = Project(
            program_id=program.id, code="T-1", name="县道改造", category="现代基础设施",
            region_unit_id=office_id, owner_unit_id=office_id, responsible_unit_id=office_id,
            construction="new", stage="construction", status="approved", total_investment=Decimal("1000"),
            annual_plan=Decimal("600"), start_date=date(2018, 1, 1), end_date=date(2019, 12, 31),
            created_by="t",
        )  # fmt: skip
        s.add(project)
        await s.commit()
        return user.id, project.id


async def test_a_filing_commits_once_with_its_request_whether_or_not_the_request_wrote_first(
    app: Any, engine: AsyncEngine, api_settings: ApiSettings, password_hash: str
) -> None:
    """driver_connection (shared/db.py) hands the filing the session's own driver connection: alone
    it commits on its own; after an earlier statement of the request (an Idempotency-Key claim) or
    with problems raised beside it, it joins the request's transaction. Either way the report is
    there exactly once, with its audit row, and a replay files nothing more; when a later write of
    the request fails, the filing is rolled back with it. (Second versions: their deadline is
    memoized, so nothing else of the request touched the database before the filing.)"""
    user_id, project_id = await _committed_project(engine, password_hash)
    token, _ = issue_token(api_settings, subject=f"user:{user_id}", extra={})
    url = f"/api/v1/projects/{project_id}/reports"
    headers = {"Authorization": f"Bearer {token}"}
    body = {"investment_month": "10", "progress_percent": "5"}
    keyed = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    problem = {"title": "征地拆迁滞后", "needs_coordination": True}
    refused = {"title": "refused by the test", "needs_coordination": False}
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with engine.begin() as conn:  # a write after the filing that fails: the request rolls back
        for statement in _REFUSE:
            await conn.exec_driver_sql(statement)
    try:
        async with AsyncClient(transport=transport, base_url="http://duban.test") as c:
            with clock.use_clock(clock.FixedClock(datetime(2018, 5, 10, 2, tzinfo=UTC))):
                alone = await c.post(url, json={**body, "period": "2018-01"}, headers=headers)
                claimed = await c.post(url, json={**body, "period": "2018-02"}, headers=keyed)
                replayed = await c.post(url, json={**body, "period": "2018-02"}, headers=keyed)
                beside = await c.post(
                    url, json={**body, "period": "2018-01", "problems": [problem]}, headers=headers
                )
                failed = await c.post(
                    url, json={**body, "period": "2018-02", "problems": [refused]}, headers=headers
                )
    finally:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DROP TRIGGER test_refuse_problem ON problem")
            await conn.exec_driver_sql("DROP FUNCTION test_refuse_problem")
    assert [r.status_code for r in (alone, claimed, replayed, beside)] == [201, 201, 201, 201]
    assert failed.status_code == 500
    assert replayed.headers.get("Idempotent-Replayed") == "true" and replayed.json() == claimed.json()
    async with session_factory(engine)() as s:
        filed = (
            await s.execute(
                select(ProjectReport.period, func.count())
                .where(ProjectReport.project_id == project_id)
                .group_by(ProjectReport.period)
            )
        ).all()
        audited = await s.scalar(
            select(func.count()).where(
                AuditEntry.entity == "project_report",
                AuditEntry.entity_id.in_([alone.json()["id"], claimed.json()["id"], beside.json()["id"]]),
            )
        )
        raised = await s.scalar(select(func.count()).where(Problem.project_id == project_id))
    assert sorted(filed) == [("2018-01", 2), ("2018-02", 1)]  # the refused second version is not there
    assert audited == 3 and raised == 1
