"""Units: the tree, liaisons, bad input, optimistic locking, moving a subtree."""

from uuid import uuid4

from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import AuditEntry, Unit
from tests.world import World


def new_unit(parent: Unit, **extra: object) -> dict[str, object]:
    return {
        "code": f"U-{uuid4().hex[:8]}",
        "name": "栾川县交通运输局",
        "kind": "department",
        "parent_id": str(parent.id),
        **extra,
    }


async def test_liaison_phone_is_masked_except_for_office_admins(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    body = new_unit(world.units["A"], liaison={"name": "王芳", "phone": "138 1234 5678"})
    made = await client.post("/api/v1/units", json=body, headers=world.auth("p_staff"))
    assert made.status_code == 201, made.text
    assert made.json()["liaison"] == {"name": "王芳", "phone": "138****5678"}
    assert made.headers["ETag"] == '"1"' and made.headers["Location"].endswith(made.json()["id"])
    unit_id = made.json()["id"]
    as_admin = await client.get(f"/api/v1/units/{unit_id}", headers=world.auth("p_admin"))
    assert as_admin.json()["liaison"]["phone"] == "13812345678"
    as_reporter = await client.get(f"/api/v1/units/{unit_id}", headers=world.auth("a_reporter"))
    assert as_reporter.json()["liaison"]["phone"] == "138****5678"
    stored = await session.scalar(
        text("SELECT liaison_phone_encrypted FROM unit WHERE id = :id"), {"id": unit_id}
    )
    assert "13812345678" not in stored
    audit_rows = await session.scalars(select(AuditEntry).where(AuditEntry.entity_id == unit_id))
    assert all("13812345678" not in str(r.after) for r in audit_rows)


async def test_every_liaison_change_is_kept(client: AsyncClient, world: World) -> None:
    a = world.units["A"]
    admin = world.auth("p_admin")
    first = {"liaison": {"name": "王芳", "phone": "13812345678"}}
    r1 = await client.patch(f"/api/v1/units/{a.id}", json=first, headers={**admin, "If-Match": "1"})
    r2 = await client.patch(
        f"/api/v1/units/{a.id}",
        json={"liaison": {"name": "李明", "phone": "0379-66812345"}},
        headers={**admin, "If-Match": "2"},
    )
    assert r1.status_code == r2.status_code == 200
    history = (await client.get(f"/api/v1/units/{a.id}/liaison-history", headers=admin)).json()["data"]
    assert [(h["name"], h["phone"]) for h in history] == [("王芳", "13812345678"), ("李明", "0379-66812345")]
    masked = (
        await client.get(f"/api/v1/units/{a.id}/liaison-history", headers=world.auth("a_leader"))
    ).json()["data"]
    assert [h["phone"] for h in masked] == ["138****5678", "0379-****2345"]


async def test_a_duplicate_code_is_409_naming_it(client: AsyncClient, world: World) -> None:
    body = new_unit(world.units["A"], code=world.units["B"].code)
    r = await client.post("/api/v1/units", json=body, headers=world.auth("p_admin"))
    assert r.status_code == 409
    assert world.units["B"].code in r.json()["detail"]


async def test_township_and_village_codes_are_taken_and_each_code_names_one_unit(
    client: AsyncClient, world: World
) -> None:
    admin = world.auth("p_admin")
    for code in ("410322", "410322100", "410322100201"):  # a county, a township, a village
        r = await client.post(
            "/api/v1/units", json=new_unit(world.units["A"], region_code=code), headers=admin
        )
        assert r.status_code == 201 and r.json()["region_code"] == code, r.text
    for code in ("4103221", "41032210020"):
        r = await client.post(
            "/api/v1/units", json=new_unit(world.units["A"], region_code=code), headers=admin
        )
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "region_code"], code
    twice = await client.post(
        "/api/v1/units", json=new_unit(world.units["A"], region_code="410322100"), headers=admin
    )
    assert twice.status_code == 409 and "410322100" in twice.json()["detail"]
    unit = (await client.post("/api/v1/units", json=new_unit(world.units["A"]), headers=admin)).json()
    r = await client.patch(
        f"/api/v1/units/{unit['id']}",
        json={"region_code": "410322"},
        headers={**admin, "If-Match": f'"{unit["version"]}"'},
    )
    assert r.status_code == 409 and "one unit per region code" in r.json()["detail"], r.text


async def test_bad_values_say_what_is_expected(client: AsyncClient, world: World) -> None:
    admin = world.auth("p_admin")
    region = await client.post(
        "/api/v1/units", json=new_unit(world.units["A"], region_code="41-03"), headers=admin
    )
    assert region.status_code == 422
    assert "six-digit GB/T 2260 region code" in region.json()["detail"]
    phone = await client.post(
        "/api/v1/units",
        json=new_unit(world.units["A"], liaison={"name": "王芳", "phone": "12345"}),
        headers=admin,
    )
    assert phone.status_code == 422 and phone.json()["errors"][0]["loc"] == ["body", "liaison", "phone"]
    unknown = await client.post(
        "/api/v1/units", json=new_unit(world.units["A"], parent_id=str(uuid4())), headers=admin
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["loc"] == ["body", "parent_id"]
    no_parent = {k: v for k, v in new_unit(world.units["A"]).items() if k != "parent_id"}
    under_own = await client.post("/api/v1/units", json=no_parent, headers=admin)
    assert under_own.status_code == 201, under_own.text
    assert under_own.json()["parent_id"] == str(world.users["p_admin"].unit_id)
    kind = await client.post("/api/v1/units", json=new_unit(world.units["A"], kind="bank"), headers=admin)
    assert kind.status_code == 422
    # a kind that is not one (the schema's) and a parent out of sight (the rules'): one answer
    both = await client.post(
        "/api/v1/units",
        json={**new_unit(world.units["A"], kind="bank"), "parent_id": str(uuid4())},
        headers=admin,
    )
    assert {tuple(e["loc"]) for e in both.json()["errors"]} == {("body", "kind"), ("body", "parent_id")}


async def test_a_unit_cannot_move_under_its_own_subtree(client: AsyncClient, world: World) -> None:
    c, d = world.units["C"], world.units["D"]
    r = await client.patch(
        f"/api/v1/units/{c.id}",
        json={"parent_id": str(d.id)},
        headers={**world.auth("p_admin"), "If-Match": "1"},
    )
    assert r.status_code == 422 and "under itself" in r.json()["detail"]


async def test_moving_a_unit_moves_who_sees_its_subtree(client: AsyncClient, world: World) -> None:
    """Luanchuan county moves from Luoyang to Yichuan: Yichuan's admin now sees its department."""
    a, b, d = world.units["A"], world.units["B"], world.units["D"]
    assert (await client.get(f"/api/v1/units/{d.id}", headers=world.auth("b_admin"))).status_code == 404
    # the county's reporter, already checked in (the api remembers their unit's place)
    assert (await client.get(f"/api/v1/units/{d.id}", headers=world.auth("a_reporter"))).status_code == 200
    moved = await client.patch(
        f"/api/v1/units/{a.id}",
        json={"parent_id": str(b.id)},
        headers={**world.auth("p_admin"), "If-Match": "1"},
    )
    assert moved.status_code == 200 and moved.json()["parent_id"] == str(b.id)
    assert (await client.get(f"/api/v1/units/{d.id}", headers=world.auth("b_admin"))).status_code == 200
    # and the department still belongs to its county: the move is seen at once
    assert (await client.get(f"/api/v1/units/{d.id}", headers=world.auth("a_reporter"))).status_code == 200


async def test_updates_need_the_current_version(client: AsyncClient, world: World) -> None:
    url, admin = f"/api/v1/units/{world.units['A'].id}", world.auth("p_admin")
    missing = await client.patch(url, json={"name": "栾川县"}, headers=admin)
    assert missing.status_code == 428
    ok = await client.patch(url, json={"name": "栾川县"}, headers={**admin, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.json()["version"] == 2 and ok.headers["ETag"] == '"2"'
    stale = await client.patch(url, json={"name": "栾川"}, headers={**admin, "If-Match": "1"})
    assert stale.status_code == 412 and "now version 2" in stale.json()["detail"]
    assert (await client.get(url, headers=admin)).json()["name"] == "栾川县"


async def test_lists_show_only_the_subtree_in_pages(client: AsyncClient, world: World) -> None:
    county = await client.get("/api/v1/units?page_size=1", headers=world.auth("a_reporter"))
    assert county.json()["count"] == 2  # the county and its department
    assert len(county.json()["data"]) == 1
    codes = {
        u["code"] for u in (await client.get("/api/v1/units", headers=world.auth("p_admin"))).json()["data"]
    }
    assert world.units["D"].code in codes and world.units["QC"].code not in codes
    found = await client.get(f"/api/v1/units?q={world.units['B'].code}", headers=world.auth("p_admin"))
    assert [u["code"] for u in found.json()["data"]] == [world.units["B"].code]
    too_big = await client.get("/api/v1/units?page_size=501", headers=world.auth("p_admin"))
    assert too_big.status_code == 422


async def test_users_get_clear_password_rules_and_unique_names(client: AsyncClient, world: World) -> None:
    admin = world.auth("p_admin")
    body = {
        "username": "wangfang",
        "password": "wangfang123",
        "display_name": "王芳",
        "unit_id": str(world.units["A"].id),
        "roles": ["reporter"],
    }
    weak = await client.post("/api/v1/users", json=body, headers=admin)
    assert weak.status_code == 422 and "do not include the username" in weak.json()["detail"]
    ok = await client.post("/api/v1/users", json={**body, "password": "Luanchuan-2018"}, headers=admin)
    assert ok.status_code == 201 and "Luanchuan-2018" not in ok.text and "$argon2" not in ok.text
    assert not {"password", "password_hash"} & set(ok.json())
    again = await client.post("/api/v1/users", json={**body, "password": "Luanchuan-2018"}, headers=admin)
    assert again.status_code == 409 and "wangfang" in again.json()["detail"]
    bad_role = await client.post(
        "/api/v1/users", json={**body, "username": "lm", "roles": ["king"]}, headers=admin
    )
    assert bad_role.status_code == 422
    # a role that is not one (the schema's), a weak password and a unit out of sight (the rules'):
    # one answer names all three
    everything = {**body, "username": "lm2", "roles": ["king"], "password": "lm2", "unit_id": str(uuid4())}
    r = await client.post("/api/v1/users", json=everything, headers=admin)
    assert r.status_code == 422
    assert {e["loc"][1] for e in r.json()["errors"]} == {"roles", "password", "unit_id"}, r.json()
