"""The library end to end: a county enters a project, the office approves it, and a bank's
webhook receives the signed `project.approved` — api → outbox → relay → Redis → notifier → HTTP."""

import hashlib
import hmac
import json
import uuid

import httpx
import pytest

from tests.e2e.conftest import Spawn, operator_headers, wait_ready
from tests.helpers import eventually, free_port, receiving

pytestmark = pytest.mark.e2e
SECRET = "bank-of-luoyang-webhook-secret"


async def test_an_approved_project_reaches_the_banks_webhook(spawn: Spawn, base_env: dict[str, str]) -> None:
    port = free_port()
    supervisor = spawn(
        "run", "--port", str(port), env={**base_env, "DUBAN_DEV_STACK": "external"}, log="library"
    )
    base_url = f"http://127.0.0.1:{port}"
    await wait_ready(base_url, supervisor)
    admin = await operator_headers(base_url, base_env)
    tag = uuid.uuid4().hex[:6]
    async with (
        receiving() as bank,
        httpx.AsyncClient(base_url=base_url, timeout=10, headers=admin) as c,
    ):
        me = (await c.get("/api/v1/me")).json()
        county = await c.post(
            "/api/v1/units", json={"code": f"LC-{tag}", "name": "栾川县", "kind": "government"}
        )
        program = await c.post(
            "/api/v1/programs",
            json={
                "code": f"BC-{tag}",
                "name": "重点项目 2018",
                "year": 2018,
                "office_unit_id": me["unit_id"],
            },
        )
        hook = await c.post(
            "/api/v1/webhooks", json={"url": bank.url, "events": ["project.approved"], "secret": SECRET}
        )
        assert county.status_code == program.status_code == hook.status_code == 201
        unit = county.json()["id"]
        project = await c.post(
            "/api/v1/projects",
            json={
                "program_id": program.json()["id"],
                "code": "LC-001",
                "name": "伏牛山滑雪度假区",
                "category": "现代产业",
                "region_unit_id": unit,
                "owner_unit_id": unit,
                "responsible_unit_id": unit,
                "leader": {"name": "张三", "title": "副县长"},
                "construction": "new",
                "stage": "construction",
                "total_investment": "28000",
                "annual_plan": "13000",
                "start_date": "2018-01-01",
                "end_date": "2019-12-31",
            },
        )
        assert project.status_code == 201, project.text
        pid = project.json()["id"]
        assert (await c.post(f"/api/v1/projects/{pid}/submit")).status_code == 200
        assert (await c.post(f"/api/v1/projects/{pid}/approve")).status_code == 200

        async def delivered() -> list[dict[str, object]] | None:
            rows = (await c.get(f"/api/v1/webhooks/{hook.json()['id']}/deliveries")).json()["data"]
            return rows if rows and rows[0]["state"] == "delivered" else None

        deliveries = await eventually(delivered, within=30, every=0.2)

        async def chained() -> list[dict[str, object]] | None:  # by the api's background pass
            rows = (await c.get(f"/api/v1/audit?entity=project&entity_id={pid}")).json()["data"]
            return rows if rows and all(r["hash"] for r in rows) else None

        trail = await eventually(chained, within=30, every=0.2)
        assert {r["action"] for r in trail} == {"project.create", "project.submitted", "project.approved"}
    assert deliveries[0]["attempts"] == 1 and len(bank.requests) == 1
    headers, body = bank.requests[-1]
    assert (
        headers["x-duban-signature"]
        == "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    )
    event = json.loads(body)
    assert event["event"] == "project.approved" and event["data"]["code"] == "LC-001"
    assert event["data"]["total_investment"] == "28000.00"
