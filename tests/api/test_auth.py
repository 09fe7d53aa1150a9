"""Signing in: password and client-credentials grants, throttling, token checks."""

import asyncio
import time
from datetime import timedelta
from typing import Any

import jwt
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.auth.principal import issue_token
from shared import clock
from shared.settings import ApiSettings
from tests.world import PASSWORD, World


async def sign_in(client: AsyncClient, username: str, password: str) -> object:
    return await client.post(
        "/api/v1/auth/token", data={"grant_type": "password", "username": username, "password": password}
    )


async def test_a_person_signs_in_and_sees_who_they_are(client: AsyncClient, world: World) -> None:
    user = world.users["a_reporter"]
    r = await sign_in(client, user.username.upper(), PASSWORD)  # usernames are not case-sensitive
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 30 * 60
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == {
        "kind": "user",
        "id": str(user.id),
        "name": user.username,
        "unit_id": str(world.units["A"].id),
        "roles": ["reporter"],
        "scopes": [],
        "must_change_password": False,
        "email": None,
        "mobile": None,
        "duties": [],
    }


async def test_wrong_password_is_401_without_saying_which_part(client: AsyncClient, world: World) -> None:
    wrong = await sign_in(client, world.users["a_reporter"].username, "Not-the-password-1")
    unknown = await sign_in(client, "nobody-here", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "Wrong username or password."


async def test_repeated_failures_lock_the_account_for_a_while(
    client: AsyncClient, world: World, api_settings: ApiSettings
) -> None:
    name = world.users["a_leader"].username
    for _ in range(api_settings.signin_max_failures):
        assert (await sign_in(client, name, "Guessing-123")).status_code == 401
    locked = await sign_in(client, name, PASSWORD)  # even the right password waits
    assert locked.status_code == 429
    assert 0 < int(locked.headers["Retry-After"]) <= api_settings.signin_lockout_seconds
    assert "Too many failed sign-ins" in locked.json()["detail"]
    other = await sign_in(client, world.users["a_inspector"].username, PASSWORD)
    assert other.status_code == 200  # only that account is held back


async def test_a_system_signs_in_with_client_credentials(client: AsyncClient, world: World) -> None:
    creds = {
        "grant_type": "client_credentials",
        "client_id": world.clients["A"].client_id,
        "client_secret": PASSWORD,
    }
    r = await client.post("/api/v1/auth/token", data=creds)
    assert (
        r.status_code == 200
        and r.json()["scope"] == "calendar:read programs:read projects:read reports:read units:read"
    )
    token = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await client.get("/api/v1/units", headers=token)).status_code == 200
    too_much = await client.post("/api/v1/auth/token", data={**creds, "scope": "units:read units:write"})
    assert too_much.status_code == 422 and "units:write" in too_much.json()["detail"]


async def test_a_rotated_secret_stops_working_at_once(client: AsyncClient, world: World) -> None:
    rotated = await client.post(
        f"/api/v1/clients/{world.clients['A'].id}/rotate-secret", headers=world.auth("p_admin")
    )
    assert rotated.status_code == 200
    new_secret = rotated.json()["client_secret"]
    creds = {"grant_type": "client_credentials", "client_id": world.clients["A"].client_id}
    assert (
        await client.post("/api/v1/auth/token", data={**creds, "client_secret": PASSWORD})
    ).status_code == 401
    assert (
        await client.post("/api/v1/auth/token", data={**creds, "client_secret": new_secret})
    ).status_code == 200


async def test_a_new_client_secret_is_shown_once_and_works(client: AsyncClient, world: World) -> None:
    made = await client.post(
        "/api/v1/clients",
        json={"name": "农业发展银行洛阳分行", "unit_id": str(world.units["A"].id), "scopes": ["units:read"]},
        headers=world.auth("p_admin"),
    )
    assert made.status_code == 201
    listed = await client.get("/api/v1/clients", headers=world.auth("p_admin"))
    assert all("client_secret" not in c for c in listed.json()["data"])
    creds = {
        "grant_type": "client_credentials",
        "client_id": made.json()["client_id"],
        "client_secret": made.json()["client_secret"],
    }
    assert (await client.post("/api/v1/auth/token", data=creds)).status_code == 200


async def test_unsupported_grant_and_missing_fields(client: AsyncClient) -> None:
    r = await client.post("/api/v1/auth/token", data={"grant_type": "implicit"})
    assert r.status_code == 400 and "grant_type" in r.json()["detail"]
    r = await client.post("/api/v1/auth/token", data={"grant_type": "password", "username": "x"})
    assert r.status_code == 422 and "password" in r.json()["detail"]


async def test_bad_tokens_are_refused(client: AsyncClient, world: World, api_settings: ApiSettings) -> None:
    user_id = world.users["p_admin"].id
    with clock.use_clock(clock.FixedClock(clock.now() - timedelta(hours=2))):
        expired, _ = issue_token(api_settings, subject=f"user:{user_id}", extra={})
    claims = {"iss": "duban", "aud": "duban-api", "sub": f"user:{user_id}", "iat": 0, "exp": 2**31}
    forged = jwt.encode(claims, "someone-elses-key-" * 3, algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    wrong_audience, _ = issue_token(
        api_settings.model_copy(update={"jwt_audience": "bank"}), subject=f"user:{user_id}", extra={}
    )
    for token, why in (
        (expired, "has expired"),
        (forged, "is not valid"),
        (unsigned, "is not valid"),
        (wrong_audience, "is not valid"),
    ):
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token
        assert why in r.json()["detail"] and r.headers["WWW-Authenticate"] == "Bearer"


async def test_an_account_disabled_elsewhere_loses_access_within_the_cache_time(
    client: AsyncClient, world: World, session: AsyncSession, api_settings: ApiSettings
) -> None:
    """Disabled straight in the database (by another process): the api trusts the token it
    already checked for at most `principal_cache_seconds`, then refuses it."""
    user = world.users["p_staff"]
    assert (await client.get("/api/v1/me", headers=world.auth("p_staff"))).status_code == 200
    user.is_active = False
    await session.commit()
    started = time.monotonic()
    while (r := await client.get("/api/v1/me", headers=world.auth("p_staff"))).status_code == 200:
        assert time.monotonic() - started < api_settings.principal_cache_seconds + 2
        await asyncio.sleep(0.2)
    assert r.status_code == 401 and "disabled" in r.json()["detail"]


async def test_guessing_from_elsewhere_does_not_lock_the_owner_out(
    app: Any, client: AsyncClient, world: World, api_settings: ApiSettings
) -> None:
    """Somebody who knows a liaison's username guesses from their own machine: they are held back
    (longer after each further try), the liaison signing in from their own device is not."""
    name = world.users["a_reporter"].username
    attacker = AsyncClient(
        transport=ASGITransport(app=app, client=("198.51.100.7", 40000)), base_url="http://duban.test"
    )
    async with attacker:
        for _ in range(api_settings.signin_max_failures):
            assert (await sign_in(attacker, name, "Guessing-123")).status_code == 401
        held = await sign_in(attacker, name, "Guessing-123")
        assert held.status_code == 429
        first_wait = int(held.headers["Retry-After"])
        # the owner, from another address, still gets in on deadline day
        assert (await sign_in(client, name, PASSWORD)).status_code == 200
        # spraying many accounts from one address: the address itself waits
        others = [u.username for k, u in world.users.items() if k != "a_reporter"]
        statuses = []
        for i in range(api_settings.signin_max_failures * 10):
            statuses.append((await sign_in(attacker, others[i % len(others)], "Guessing-123")).status_code)
        assert statuses[-1] == 429 and 401 in statuses
        assert (await sign_in(client, world.users["a_leader"].username, PASSWORD)).status_code == 200
    assert 0 < first_wait <= api_settings.signin_lockout_seconds
