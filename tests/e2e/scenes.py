"""A round ready to score, set up over the api as an office would: counties, approved projects,
inspectors signed in on their phones, the round opened (its window around now)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx


@dataclass
class Scoring:
    program_id: str
    round_id: str
    projects: list[str]
    inspectors: list[tuple[str, dict[str, str]]]  # (user id, a phone's Authorization header)


async def open_round(c: httpx.AsyncClient, *, projects: int, inspectors: int, criteria: int = 1) -> Scoring:
    """`c` is signed in as the office's admin."""
    tag = uuid.uuid4().hex[:6]
    office = (await c.get("/api/v1/me")).json()["unit_id"]
    r = await c.post("/api/v1/units", json={"code": f"C-{tag}", "name": "栾川县", "kind": "government"})
    assert r.status_code == 201, r.text
    county = r.json()["id"]
    r = await c.post(
        "/api/v1/programs",
        json={"code": f"O-{tag}", "name": "重点项目", "year": 2018, "office_unit_id": office},
    )
    assert r.status_code == 201, r.text
    program = r.json()["id"]
    project_ids = []
    for n in range(projects):
        r = await c.post(
            "/api/v1/projects",
            json={
                "program_id": program, "code": f"P-{n}", "name": f"项目{n}", "category": "现代产业",
                "region_unit_id": county, "owner_unit_id": county, "responsible_unit_id": county,
                "leader": {"name": "张三", "title": "副县长"}, "construction": "new", "stage": "construction",
                "total_investment": "1000", "annual_plan": "600", "start_date": "2018-01-01",
                "end_date": "2019-12-31",
            },
        )  # fmt: skip
        assert r.status_code == 201, r.text
        project_ids.append(r.json()["id"])
        for step in ("submit", "approve"):
            assert (await c.post(f"/api/v1/projects/{project_ids[-1]}/{step}")).status_code == 200
    phones = []
    for i in range(inspectors):
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
        phones.append((r.json()["id"], {"Authorization": f"Bearer {token.json()['access_token']}"}))
    now = datetime.now(UTC)
    r = await c.post(
        "/api/v1/rounds",
        json={
            "program_id": program, "name": "本季度观摩",
            "quarter": f"{now.year}Q{(now.month - 1) // 3 + 1}",  # the window is now
            "opens_at": (now - timedelta(hours=1)).isoformat(),
            "closes_at": (now + timedelta(hours=1)).isoformat(),
            "rubric": [  # equal weights: `criteria` divides a power of ten
                {"key": f"c{k}", "name": f"指标{k}", "weight": str(Decimal(1) / criteria), "max_score": "100"}
                for k in range(criteria)
            ],
            "project_ids": project_ids, "inspector_user_ids": [i for i, _ in phones],
            "observation_weight": "1",
            "objective_weights": {"investment_rate": "0", "milestone_rate": "0", "report_timeliness": "0"},
            "praise_top": 1, "criticise_bottom": 1,
        },
    )  # fmt: skip
    assert r.status_code == 201, r.text
    round_id = r.json()["id"]
    assert (await c.post(f"/api/v1/rounds/{round_id}/open")).status_code == 200
    return Scoring(program, round_id, project_ids, phones)
