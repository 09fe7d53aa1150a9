"""Accounts an office manages: a person who leaves is deactivated and their token refused on its
next request; roles and units change; a forgotten password is reset to a one-time one that must be
changed before anything else; everyone changes their own."""

from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared.models import AuditEntry
from tests.world import PASSWORD, World


async def _sign_in(client: AsyncClient, username: str, password: str) -> Any:
    return await client.post(
        "/api/v1/auth/token", data={"grant_type": "password", "username": username, "password": password}
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_deactivated_persons_token_is_refused_on_its_next_request(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    reporter, admin = world.auth("a_reporter"), world.auth("p_admin")
    url = f"/api/v1/users/{world.users['a_reporter'].id}"
    assert (await client.get("/api/v1/me", headers=reporter)).status_code == 200
    first = {**admin, "If-Match": "1"}
    itself = await client.patch(
        f"/api/v1/users/{world.users['p_admin'].id}", json={"is_active": False}, headers=first
    )
    outsider = await client.patch(
        url, json={"is_active": False}, headers={**world.auth("b_admin"), "If-Match": "1"}
    )
    stale = await client.patch(url, json={"is_active": False}, headers={**admin, "If-Match": "7"})
    left = await client.patch(url, json={"is_active": False}, headers=first)
    assert itself.status_code == 409 and outsider.status_code == 404 and stale.status_code == 412
    assert left.status_code == 200 and left.json()["is_active"] is False
    refused = await client.get("/api/v1/notices", headers=reporter)
    assert refused.status_code == 401
    assert (await _sign_in(client, world.users["a_reporter"].username, PASSWORD)).status_code == 401
    back = await client.patch(url, json={"is_active": True}, headers={**admin, "If-Match": "2"})
    assert back.status_code == 200
    assert (await client.get("/api/v1/me", headers=reporter)).status_code == 401  # the old token stays dead
    signed = await _sign_in(client, world.users["a_reporter"].username, PASSWORD)
    assert signed.status_code == 200
    assert (await client.get("/api/v1/me", headers=_bearer(signed.json()["access_token"]))).status_code == 200
    logged = await session.scalars(
        select(col(AuditEntry.action)).where(col(AuditEntry.entity_id) == str(world.users["a_reporter"].id))
    )
    assert list(logged).count("user.update") == 2


async def test_roles_and_units_change_and_act_at_once(client: AsyncClient, world: World) -> None:
    """County A's reporter becomes a leader: filing a report is no longer theirs to do."""
    url = f"/api/v1/users/{world.users['a_reporter'].id}"
    admin = {**world.auth("p_admin"), "If-Match": "1"}
    changed = await client.patch(url, json={"roles": ["leader"], "display_name": "王五"}, headers=admin)
    assert changed.status_code == 200 and changed.json()["roles"] == ["leader"]
    me = (await client.get("/api/v1/me", headers=world.auth("a_reporter"))).json()
    assert me["roles"] == ["leader"]
    admin["If-Match"] = "2"
    bad = await client.patch(url, json={"roles": ["emperor"]}, headers=admin)
    elsewhere = await client.patch(url, json={"unit_id": str(world.units["QC"].id)}, headers=admin)
    assert bad.status_code == 422 and elsewhere.status_code == 422
    assert elsewhere.json()["errors"][0]["loc"] == ["body", "unit_id"]


async def test_a_forgotten_password_is_reset_to_one_that_must_be_changed_first(
    client: AsyncClient, world: World
) -> None:
    username = world.users["a_reporter"].username
    old = world.auth("a_reporter")
    reset = await client.post(
        f"/api/v1/users/{world.users['a_reporter'].id}/reset-password", headers=world.auth("p_admin")
    )
    assert reset.status_code == 200
    once = reset.json()["one_time_password"]
    assert (await client.get("/api/v1/me", headers=old)).status_code == 401
    assert (await _sign_in(client, username, PASSWORD)).status_code == 401
    signed = await _sign_in(client, username, once)
    assert signed.status_code == 200
    first = _bearer(signed.json()["access_token"])
    me = await client.get("/api/v1/me", headers=first)
    assert me.json()["must_change_password"] is True
    blocked = await client.get("/api/v1/notices", headers=first)
    assert blocked.status_code == 403 and "/api/v1/auth/password" in blocked.json()["detail"]
    wrong = await client.post(
        "/api/v1/auth/password",
        json={"current_password": "nope", "new_password": "Luanchuan2019x"},
        headers=first,
    )
    weak = await client.post(
        "/api/v1/auth/password", json={"current_password": once, "new_password": "short"}, headers=first
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["loc"] == ["body", "current_password"]
    assert weak.status_code == 422 and weak.json()["errors"][0]["loc"] == ["body", "new_password"]
    changed = await client.post(
        "/api/v1/auth/password",
        json={"current_password": once, "new_password": "Luanchuan2019x"},
        headers=first,
    )
    assert changed.status_code == 200
    fresh = _bearer(changed.json()["access_token"])
    assert (await client.get("/api/v1/notices", headers=fresh)).status_code == 200
    assert (await client.get("/api/v1/me", headers=fresh)).json()["must_change_password"] is False
    assert (await _sign_in(client, username, "Luanchuan2019x")).status_code == 200
