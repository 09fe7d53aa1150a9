"""The api SIGKILLed while reports are being filed, three times, and started again: every filing
is retried with its Idempotency-Key until answered, and afterwards each is stored exactly once —
nothing lost, nothing doubled (a filing whose answer died with the api is replayed, not redone)."""

import asyncio
import signal
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from shared.db import plain_url
from tests.e2e.conftest import Spawn, operator_headers, own_database, wait_ready
from tests.helpers import free_port, record_reliability

pytestmark = pytest.mark.e2e


async def test_filings_through_api_kills_are_stored_exactly_once(
    spawn: Spawn, base_env: dict[str, str]
) -> None:
    async with own_database(base_env, "kill") as env:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        api = spawn("serve", "api", "--port", str(port), env=env, log="api-0")
        await wait_ready(base_url, api)
        admin = await operator_headers(base_url, env)
        async with httpx.AsyncClient(base_url=base_url, timeout=10, headers=admin) as c:
            projects = await _projects(c, 20)
            answered: dict[str, int] = {}  # Idempotency-Key -> status
            lost_answers = 0
            stop = asyncio.Event()

            async def file(project: str, key: str) -> None:
                nonlocal lost_answers
                body = {"period": "2018-05", "investment_month": "10", "progress_percent": "5"}
                while True:
                    try:
                        r = await c.post(
                            f"/api/v1/projects/{project}/reports", json=body, headers={"Idempotency-Key": key}
                        )
                    except httpx.TransportError:
                        lost_answers += 1  # the api died with the request in flight: send it again
                        await asyncio.sleep(0.1)
                        continue
                    if r.status_code == 503:
                        await asyncio.sleep(0.2)
                        continue
                    answered[key] = r.status_code
                    return

            async def clients() -> None:
                n = 0
                while not stop.is_set():
                    batch = [file(projects[(n + i) % len(projects)], uuid.uuid4().hex) for i in range(8)]
                    n += 8
                    await asyncio.gather(*batch)

            load = asyncio.create_task(clients())
            started = time.monotonic()
            for i in range(1, 4):
                await asyncio.sleep(1.5)
                api.send_signal(signal.SIGKILL)
                api.wait(10)
                api = spawn("serve", "api", "--port", str(port), env=env, log=f"api-{i}")
                await wait_ready(base_url, api)
            await asyncio.sleep(1.5)
            stop.set()
            await load
        assert set(answered.values()) == {201}, answered
        conn = await asyncpg.connect(plain_url(env["DUBAN_DATABASE_URL"]))
        try:
            stored = await conn.fetchval("SELECT count(*) FROM project_report")
        finally:
            await conn.close()
        assert stored == len(answered)
        assert lost_answers > 0, "no request was in flight when the api died: the test proved nothing"
    record_reliability(
        "api_killed",
        {"kills": 3, "filings": len(answered), "in_flight_when_killed": lost_answers,
         "seconds": round(time.monotonic() - started)},
    )  # fmt: skip


async def _projects(c: httpx.AsyncClient, n: int) -> list[str]:
    """`n` approved projects of a county, to file reports on."""
    me = (await c.get("/api/v1/me")).json()
    county = (
        await c.post("/api/v1/units", json={"code": "LC", "name": "栾川县", "kind": "government"})
    ).json()
    program = (
        await c.post(
            "/api/v1/programs",
            json={"code": "BC", "name": "重点项目 2018", "year": 2018, "office_unit_id": me["unit_id"]},
        )
    ).json()
    ids = []
    for i in range(n):
        body: dict[str, Any] = {
            "program_id": program["id"], "code": f"K-{i:02d}", "name": f"项目{i}", "category": "现代产业",
            "region_unit_id": county["id"], "owner_unit_id": county["id"],
            "responsible_unit_id": county["id"],
            "leader": {"name": "张三", "title": "副县长"}, "construction": "new", "stage": "construction",
            "total_investment": "90000", "annual_plan": "80000",
            "start_date": "2018-01-01", "end_date": "2019-12-31",
        }  # fmt: skip
        pid = (await c.post("/api/v1/projects", json=body)).json()["id"]
        for step in ("submit", "approve"):
            assert (await c.post(f"/api/v1/projects/{pid}/{step}")).status_code == 200
        ids.append(pid)
    return ids
