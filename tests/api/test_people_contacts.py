"""Where notices reach a person: an e-mail address, a mobile (masked to everyone but its owner,
in responses and in the audit log) and their duties in the unit."""

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared.models import AuditEntry
from tests.world import World


async def test_a_person_carries_email_mobile_and_duties_masked_to_others(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    admin = world.auth("p_admin")
    body = {
        "username": "zhaoliu", "password": "Luanchuan-2018", "display_name": "赵六",
        "unit_id": str(world.units["A"].id), "roles": ["reporter"],
        "email": "zhaoliu@county-a.example.cn", "mobile": "13912345678", "duties": ["liaison", "unit_head"],
    }  # fmt: skip
    r = await client.post("/api/v1/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["email"], made["mobile"], made["duties"]) == (
        "zhaoliu@county-a.example.cn", "139****5678", ["liaison", "unit_head"]
    )  # fmt: skip
    assert "13912345678" not in (await client.get(f"/api/v1/users/{made['id']}", headers=admin)).text
    token = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": "zhaoliu", "password": "Luanchuan-2018"},
    )
    mine = (
        await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    ).json()
    assert (mine["mobile"], mine["email"], mine["duties"]) == (
        "13912345678", "zhaoliu@county-a.example.cn", ["liaison", "unit_head"]
    )  # fmt: skip
    logged = await session.scalar(
        select(AuditEntry).where(
            col(AuditEntry.action) == "user.create", col(AuditEntry.entity_id) == made["id"]
        )
    )
    assert (
        logged is not None and "13912345678" not in str(logged.after) and "139****5678" in str(logged.after)
    )

    changed = await client.patch(
        f"/api/v1/users/{made['id']}", json={"mobile": None, "duties": ["unit_principal"]},
        headers={**admin, "If-Match": f'"{made["version"]}"'},
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert (changed.json()["mobile"], changed.json()["duties"]) == (None, ["unit_principal"])


async def test_a_bad_address_number_or_duty_is_named(client: AsyncClient, world: World) -> None:
    body = {
        "username": "qianqi", "password": "Luanchuan-2018", "display_name": "钱七",
        "unit_id": str(world.units["A"].id), "roles": ["reporter"],
        "email": "not-an-address", "mobile": "0379-66812345", "duties": ["liaison", "king", "liaison"],
    }  # fmt: skip
    r = await client.post("/api/v1/users", json=body, headers=world.auth("p_admin"))
    assert r.status_code == 422
    assert {e["loc"][1] for e in r.json()["errors"]} == {"email", "mobile", "duties"}, r.json()
    zh = await client.post(
        "/api/v1/users", json=body, headers={**world.auth("p_admin"), "Accept-Language": "zh-CN"}
    )
    assert zh.status_code == 422 and "email" in zh.text  # the field is named; the words are Chinese
