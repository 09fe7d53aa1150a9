"""A quarter's observation round through the three real processes: the office sets it up,
two inspectors score from their phones, the office closes it, the ranker ranks it, the office
publishes, and the notifier praises the top county and puts the bottom one on the ladder."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Spawn, operator_headers, own_database, wait_ready
from tests.helpers import eventually, free_port

pytestmark = pytest.mark.e2e


async def test_a_round_is_scored_ranked_published_and_praised_end_to_end(
    spawn: Spawn, base_env: dict[str, str]
) -> None:
    async with own_database(base_env, "observation") as env:
        port = free_port()
        api = spawn("serve", "api", "--port", str(port), env=env, log="api")
        spawn("serve", "ranker", env=env, log="ranker")
        spawn("serve", "notifier", env=env, log="notifier")
        base_url = f"http://127.0.0.1:{port}"
        await wait_ready(base_url, api)
        admin = await operator_headers(base_url, env)
        async with httpx.AsyncClient(base_url=base_url, timeout=30, headers=admin) as c:
            await _observe(c, base_url)


async def _observe(c: httpx.AsyncClient, base_url: str) -> None:
    tag = uuid.uuid4().hex[:6]
    office = (await c.get("/api/v1/me")).json()["unit_id"]
    counties = {}
    for code, name in (("LC", "栾川县"), ("SX", "嵩县")):
        r = await c.post("/api/v1/units", json={"code": f"{code}-{tag}", "name": name, "kind": "government"})
        assert r.status_code == 201, r.text
        counties[code] = r.json()["id"]
    program = (
        await c.post(
            "/api/v1/programs",
            json={"code": f"O-{tag}", "name": "重点项目", "year": 2018, "office_unit_id": office},
        )
    ).json()["id"]
    projects = {}
    for code, county in counties.items():
        r = await c.post(
            "/api/v1/projects",
            json={
                "program_id": program, "code": f"{code}-1", "name": f"{code} 项目", "category": "现代产业",
                "region_unit_id": county, "owner_unit_id": county, "responsible_unit_id": county,
                "leader": {"name": "张三", "title": "副县长"}, "construction": "new", "stage": "construction",
                "total_investment": "1000", "annual_plan": "600", "start_date": "2018-01-01",
                "end_date": "2019-12-31",
            },
        )  # fmt: skip
        assert r.status_code == 201, r.text
        projects[code] = r.json()["id"]
        for step in ("submit", "approve"):
            assert (await c.post(f"/api/v1/projects/{projects[code]}/{step}")).status_code == 200
    phones = []
    for i in range(2):
        username, password = f"insp{i}-{tag}", f"Inspector{i}-2026x"
        r = await c.post(
            "/api/v1/users",
            json={"username": username, "password": password, "display_name": f"督查员{i}",
                  "unit_id": office, "roles": ["inspector"]},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        token = await c.post(
            "/api/v1/auth/token", data={"grant_type": "password", "username": username, "password": password}
        )
        phone = httpx.AsyncClient(
            base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token.json()['access_token']}"}
        )
        phones.append((r.json()["id"], phone))
    now = datetime.now(UTC)
    r = await c.post(
        "/api/v1/rounds",
        json={
            "program_id": program, "name": "本季度观摩",
            "quarter": f"{now.year}Q{(now.month - 1) // 3 + 1}",  # the window is now
            "opens_at": (now - timedelta(hours=1)).isoformat(),
            "closes_at": (now + timedelta(hours=1)).isoformat(),
            "rubric": [{"key": "progress", "name": "形象进度", "weight": "1", "max_score": "100"}],
            "project_ids": list(projects.values()), "inspector_user_ids": [i for i, _ in phones],
            "observation_weight": "1",
            "objective_weights": {"investment_rate": "0", "milestone_rate": "0", "report_timeliness": "0"},
            "praise_top": 1, "criticise_bottom": 1,
        },
    )  # fmt: skip
    assert r.status_code == 201, r.text
    round_id = r.json()["id"]
    assert (await c.post(f"/api/v1/rounds/{round_id}/open")).status_code == 200
    taken = now.isoformat()
    for (_, phone), values in zip(phones, ({"LC": 90, "SX": 60}, {"LC": 80, "SX": 70}), strict=True):
        batch = [
            {"client_id": str(uuid.uuid4()), "project_id": projects[code], "criterion": "progress",
             "value": value, "scored_at": taken}
            for code, value in values.items()
        ]  # fmt: skip
        for _ in range(2):  # a phone on bad signal sends twice
            r = await phone.post(f"/api/v1/rounds/{round_id}/scores", json={"scores": batch})
            assert r.status_code == 200, r.text
        assert r.json()["duplicates"] == 2
        await phone.aclose()
    assert (await c.post(f"/api/v1/rounds/{round_id}/close")).status_code == 202

    async def ranked() -> dict[str, Any] | None:
        got = (await c.get(f"/api/v1/rounds/{round_id}/results", params={"by": "unit"})).json()
        return got if got["state"] == "ready" else None

    results = await eventually(ranked, within=60, every=0.2)
    assert [(row["id"], row["rank"], row["score"]) for row in results["rows"]] == [
        (counties["LC"], 1, "85.00"),
        (counties["SX"], 2, "65.00"),
    ]
    r = await c.post(f"/api/v1/rounds/{round_id}/publish", json={"snapshot_version": 1})
    assert r.status_code == 200, r.text

    async def praised() -> list[dict[str, Any]] | None:
        got = (await c.get("/api/v1/notices", params={"program_id": program, "kind": "praise"})).json()
        return got["data"] or None

    [praise] = await eventually(praised, within=60, every=0.2)
    assert praise["recipient_unit_id"] == counties["LC"] and "第 1 名" in praise["requirements"]
