"""Project reports filed at the same moment, through the real api process: each filing is one
call of the database's file_project_report, committed on its own, so concurrency is real here
(the api tests run inside one test transaction and cannot show it)."""

import asyncio
import uuid
from decimal import Decimal

import httpx
import pytest

from tests.e2e.conftest import Spawn, operator_headers, own_database, wait_ready
from tests.helpers import free_port

pytestmark = pytest.mark.e2e


async def test_forms_filed_at_once_get_their_own_versions_and_count_each_other(
    spawn: Spawn, base_env: dict[str, str]
) -> None:
    async with own_database(base_env, "filing") as env:
        await _file_at_once(spawn, env)


async def _file_at_once(spawn: Spawn, env: dict[str, str]) -> None:
    port = free_port()
    api = spawn("serve", "api", "--port", str(port), env=env, log="filing")
    base_url = f"http://127.0.0.1:{port}"
    await wait_ready(base_url, api)
    admin = await operator_headers(base_url, env)
    tag = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=base_url, timeout=30, headers=admin) as c:
        office = (await c.get("/api/v1/me")).json()["unit_id"]
        county = (
            await c.post("/api/v1/units", json={"code": f"LC-{tag}", "name": "栾川县", "kind": "government"})
        ).json()
        program = await c.post(
            "/api/v1/programs",
            json={"code": f"F-{tag}", "name": "重点项目", "year": 2018, "office_unit_id": office},
        )
        project = await c.post(
            "/api/v1/projects",
            json={
                "program_id": program.json()["id"], "code": "LC-1", "name": "伏牛山滑雪度假区",
                "category": "现代产业", "region_unit_id": county["id"], "owner_unit_id": county["id"],
                "responsible_unit_id": county["id"], "leader": {"name": "张三", "title": "副县长"},
                "construction": "new", "stage": "construction", "total_investment": "28000",
                "annual_plan": "13000", "start_date": "2018-01-01", "end_date": "2019-12-31",
            },
        )  # fmt: skip
        pid = project.json()["id"]
        for step in ("submit", "approve"):
            assert (await c.post(f"/api/v1/projects/{pid}/{step}")).status_code == 200

        # Three months' forms, two of them sent twice, plus one that raises a problem, all at once.
        forms = [
            {"period": period, "investment_month": amount, "progress_percent": "30"}
            for period, amount in (("2018-06", "10"), ("2018-07", "20"), ("2018-08", "40"), ("2018-06", "11"))
        ]
        forms.append({"period": "2018-07", "investment_month": "21", "progress_percent": "31",
                      "problems": [{"title": "征地拆迁滞后"}]})  # fmt: skip
        url = f"/api/v1/projects/{pid}/reports"
        answers = await asyncio.gather(*(c.post(url, json=f) for f in forms * 4))
        assert {a.status_code for a in answers} == {201}, [a.text for a in answers if a.status_code != 201]
        filed = [a.json() for a in answers]
        versions = sorted((f["period"], f["version"]) for f in filed)
        assert versions == sorted(
            (p, v) for p, n in (("2018-06", 8), ("2018-07", 8), ("2018-08", 4)) for v in range(1, n + 1)
        )  # no version twice, none skipped

        # Filed one at a time under the project's lock: whichever was filed last (the latest
        # version of its period) counted every other period's latest version.
        history = (await c.get(url, params={"page_size": 500})).json()["data"]
        assert len(history) == len(filed)
        latest = {h["period"]: h for h in sorted(history, key=lambda h: h["version"])}
        total = sum(Decimal(h["investment_month"]) for h in latest.values())
        assert total in {Decimal(h["investment_to_date"]) for h in latest.values()}

        # Every filing has its audit row; the problem forms raised their problems.
        audit = (await c.get("/api/v1/audit", params={"entity": "project_report", "page_size": 100})).json()
        assert {f["id"] for f in filed} <= {row["entity_id"] for row in audit["data"]}
        problems = (await c.get("/api/v1/problems", params={"project_id": pid})).json()["data"]
        assert len(problems) == 4
