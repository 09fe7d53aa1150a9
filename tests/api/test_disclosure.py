"""What leaves the office: the OC4IDS package (validated against the 0.9 schema) and the public list."""

import json
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.world import World, new_project

# The OC4IDS 0.9 schema and codelists, copied unchanged from the standard (see its README).
OC4IDS = Path(__file__).resolve().parents[1] / "data" / "oc4ids"


@pytest.fixture(scope="module")
def validator() -> Draft4Validator:
    package = json.loads((OC4IDS / "project-package-schema.json").read_text())
    project = json.loads((OC4IDS / "project-schema.json").read_text())
    registry = Registry().with_resource(project["id"], Resource(project, specification=DRAFT4))
    return Draft4Validator(package, registry=registry, format_checker=FormatChecker())


def codelist(name: str) -> set[str]:
    lines = (OC4IDS / "codelists" / f"{name}.csv").read_text().splitlines()[1:]
    return {line.split(",")[0] for line in lines}


async def approve(client: AsyncClient, world: World, body: dict[str, Any]) -> str:
    admin = world.auth("p_admin")
    made = await client.post("/api/v1/projects", json=body, headers=admin)
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    await client.post(f"/api/v1/projects/{pid}/submit", headers=admin)
    assert (await client.post(f"/api/v1/projects/{pid}/approve", headers=admin)).status_code == 200
    return pid


async def test_the_oc4ids_export_validates_and_maps_the_library(
    client: AsyncClient, world: World, validator: Draft4Validator
) -> None:
    admin = world.auth("p_admin")
    building = await approve(
        client,
        world,
        new_project(
            world,
            code="OC-1",
            stage="construction",
            total_investment="900.50",
            annual_plan="0",
            monthly_plan={},
        ),
    )
    await approve(
        client,
        world,
        new_project(
            world,
            code="OC-2",
            stage="planning",
            construction="continuing",
            total_investment="8000",
            annual_plan="100",
            monthly_plan={},
        ),
    )
    withdrawn = await client.post(
        f"/api/v1/projects/{building}/withdraw",
        json={"reason": "调整", "replacement_project_ids": [str(world.projects["A"].id)]},
        headers=admin,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    r = await client.get(f"/api/v1/programs/{world.programs['P'].id}/oc4ids", headers=admin)
    assert r.status_code == 200
    package = r.json()
    errors = sorted(validator.iter_errors(package), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    by_code = {p["identifiers"][0]["id"]: p for p in package["projects"]}
    assert set(by_code) == {"OC-1", "OC-2", world.projects["A"].code}  # drafts stay out
    assert by_code["OC-1"]["status"] == "cancelled"  # withdrawn
    assert by_code["OC-2"]["status"] == "identification"  # planning
    assert by_code[world.projects["A"].code]["status"] == "implementation"  # construction
    assert by_code["OC-2"]["budget"]["amount"] == {"amount": 80_000_000, "currency": "CNY"}  # 8000 万元
    assert by_code["OC-1"]["budget"]["amount"]["amount"] == 9_005_000  # 900.50 万元
    assert {p["type"] for p in package["projects"]} <= codelist("projectType")
    parties = {role: party["name"] for party in by_code["OC-1"]["parties"] for role in party["roles"]}
    assert parties == {"publicAuthority": "D", "administrativeEntity": "A", "reviewBody": "P"}
    assert {
        role for p in package["projects"] for party in p["parties"] for role in party["roles"]
    } <= codelist("partyRole")
    milestones = by_code["OC-1"]["milestones"]
    assert [m["title"] for m in milestones] == ["开工", "主体完工"]
    assert {m["status"] for m in milestones} <= codelist("milestoneStatus")


async def test_the_public_sees_approved_projects_without_contacts(client: AsyncClient, world: World) -> None:
    body = new_project(world, code="PUB-1")
    body["service_team"] = [{"role": "手续办理人员", "name": "赵六", "title": "科长"}]
    await approve(client, world, body)
    await client.post(
        "/api/v1/projects", json=new_project(world, code="PUB-DRAFT"), headers=world.auth("p_admin")
    )
    url = f"/api/v1/public/programs/{world.programs['P'].id}/projects"
    r = await client.get(url)  # no sign-in
    assert r.status_code == 200 and "public" in r.headers["cache-control"]
    listed = {p["code"]: p for p in r.json()["data"]}
    assert set(listed) == {"PUB-1"}
    shown = listed["PUB-1"]
    assert shown["responsible_leader"] == {"name": "王五", "title": "副县长"}
    assert shown["service_team"] == [{"role": "手续办理人员", "name": "赵六", "title": "科长"}]
    assert [n["name"] for n in shown["time_nodes"]] == ["开工", "主体完工"]
    assert "phone" not in r.text and "created_by" not in r.text
    again = await client.get(url, headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    missing = await client.get("/api/v1/public/programs/00000000-0000-0000-0000-000000000000/projects")
    assert missing.status_code == 404
