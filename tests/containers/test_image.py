"""The image built from deploy/Dockerfile, run as an operator runs it: migrations as a one-shot
container, then api, notifier and ranker against the CI's PostgreSQL and Redis, as uid 10001 on
a read-only root filesystem; a report filed through the api closes its notice chain in the
notifier's container; SIGTERM stops each cleanly."""

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import asyncpg
import httpx
import pytest
from sqlalchemy import select

from shared.crypto import SecretBox
from shared.db import create_engine, plain_url, session_factory
from shared.models import Program, Project, Unit
from shared.program_settings import ProgramSettings
from shared.settings import ApiSettings
from tests.containers.conftest import SECRET, Containers, engine, needs_image
from tests.helpers import eventually, free_port

pytestmark = [pytest.mark.e2e, needs_image]

ADMIN = ("ops-admin", "Ops-operator-2026")


async def _county_owing_september(env: dict[str, str]) -> uuid.UUID:
    """Under the bootstrapped office: a county (its liaison's phone sealed with the containers'
    key) and an approved 2018 project owing September's form. Returns the project's id."""
    settings = ApiSettings(database_url=env["DUBAN_DATABASE_URL"], redis_url=env["DUBAN_REDIS_URL"])
    db = create_engine(settings)
    try:
        async with session_factory(db)() as s:
            office = (await s.execute(select(Unit).where(Unit.code == "OPS"))).scalar_one()
            county = uuid.uuid4()
            s.add(Unit(id=county, code="LC", name="栾川县", kind="government", parent_id=office.id,
                       path=f"{office.path}{county}/", liaison_name="李四",
                       liaison_phone_encrypted=SecretBox(SECRET, "phone").seal("13800001234")))  # fmt: skip
            program = Program(code="BC", name="重点项目", year=2018, office_unit_id=office.id,
                              settings=ProgramSettings().model_dump(mode="json"))  # fmt: skip
            s.add(program)
            await s.flush()
            project = Project(
                program_id=program.id, code="K-1", name="伏牛山滑雪场", category="现代产业",
                region_unit_id=county, owner_unit_id=county, responsible_unit_id=county,
                leader={"name": "张三", "title": "副县长"}, construction="new", stage="construction",
                status="approved", total_investment=Decimal(1000), annual_plan=Decimal(600),
                start_date=date(2018, 1, 1), end_date=date(2019, 12, 31), created_by="test",
            )  # fmt: skip
            s.add(project)
            await s.commit()
            return project.id
    finally:
        await db.dispose()


async def _chain_state(database_url: str, project: uuid.UUID) -> str | None:
    conn = await asyncpg.connect(plain_url(database_url))
    try:
        return await conn.fetchval(
            "SELECT state FROM notice_chain WHERE subject_id = $1 AND period = '2018-09'", project
        )
    finally:
        await conn.close()


async def _ready(base_url: str, name: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as c:

        async def ready() -> bool:
            running = engine("inspect", "--format", "{{.State.Running}}", name).stdout.strip()
            assert running == "true", f"{name} is not running"
            try:
                return (await c.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, within=90, every=0.5)


async def test_the_image_migrates_serves_closes_a_chain_and_stops_on_sigterm(
    containers: Callable[[], Containers], own_env: dict[str, str]
) -> None:
    ops = containers()
    # Migrations: a one-shot container on an empty database; run again, it changes nothing.
    for _ in range(2):
        done = await asyncio.to_thread(ops.once, "migrate")
        assert done.returncode == 0, done.stderr
    username, password = ADMIN
    done = await asyncio.to_thread(
        ops.once, "bootstrap", "--office-code", "OPS", "--office-name", "督查室",
        "--admin-username", username, "--admin-password", password,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    project = await _county_owing_september(own_env)

    port = free_port()
    names = {
        "api": ops.start("api", "--port", str(port)),
        "notifier": ops.start("notifier"),
        "ranker": ops.start("ranker"),
    }
    base_url = f"http://127.0.0.1:{port}"
    await _ready(base_url, names["api"])

    for name in names.values():  # non-root, and nothing can be written outside /tmp
        assert engine("exec", name, "id", "-u").stdout.strip() == "10001"
        assert engine("inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", name).stdout.strip() == "true"
        denied = engine("exec", name, "touch", "/app/written")
        assert denied.returncode != 0 and "Read-only file system" in denied.stderr

    # The sweep of 26 September 2018 (a one-shot container, as a cron would run it) opens a chain.
    done = await asyncio.to_thread(ops.once, "notifier", "sweep", "--as-of", "2018-09-26")
    assert done.returncode == 0, done.stderr
    assert await _chain_state(own_env["DUBAN_DATABASE_URL"], project) == "open"

    async with httpx.AsyncClient(base_url=base_url, timeout=10) as c:
        r = await c.post(
            "/api/v1/auth/token", data={"grant_type": "password", "username": username, "password": password}
        )
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        r = await c.post(
            f"/api/v1/projects/{project}/reports",
            json={"period": "2018-09", "investment_month": "10", "progress_percent": "20"},
        )
        assert r.status_code == 201, r.text

    async def closed() -> bool:
        return await _chain_state(own_env["DUBAN_DATABASE_URL"], project) == "closed"

    await eventually(closed, within=30, every=0.2)

    # SIGTERM: each stops by itself (exit 0), long before the engine would resort to SIGKILL.
    for service, name in names.items():
        began = time.monotonic()
        assert engine("kill", "--signal", "TERM", name).returncode == 0
        code = engine("wait", name, timeout=60).stdout.strip()
        print(f"{service} stopped on SIGTERM in {time.monotonic() - began:.1f} s")
        assert code == "0", f"{service} exited {code}: {ops.logs(name)[-2000:]}"
