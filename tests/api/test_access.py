"""The access table: principal × endpoint × own/other unit → status.

Every endpoint joins this table. "own" is a unit inside the principal's subtree, "other" one
outside it. Outside the subtree a record does not exist for you (404, or 422 for a reference
in a body): existence never leaks. A missing permission is 403 wherever the unit is.
"""

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from httpx import AsyncClient

from tests.api.conftest import World

PRINCIPALS = [
    "p_admin",
    "p_staff",
    "p_auditor",
    "a_reporter",
    "a_leader",
    "a_inspector",
    "b_admin",
    "q_admin",
    "a_client",
    "anonymous",
]
# (own unit, other unit) for each principal
TARGETS = {
    "p_admin": ("A", "QC"),
    "p_staff": ("A", "QC"),
    "p_auditor": ("A", "QC"),
    "a_reporter": ("A", "B"),
    "a_leader": ("A", "B"),
    "a_inspector": ("A", "B"),
    "a_client": ("A", "B"),
    "b_admin": ("B", "A"),
    "q_admin": ("QC", "A"),
    "anonymous": ("A", "B"),
}
USER_IN = {"A": "a_reporter", "B": "b_admin", "QC": "q_admin"}
CLIENT_IN = {"A": "A", "B": "B", "QC": "Q"}

Request = Callable[[World, str], tuple[str, str, dict[str, Any] | None, dict[str, str]]]


def row(**statuses: tuple[int, int]) -> dict[str, tuple[int, int]]:
    """Expected (own, other) per principal; principals not named get `rest`."""
    rest = statuses.pop("rest")
    return {p: statuses.get(p, rest) for p in PRINCIPALS}


WRITERS = {p: (201, 422) for p in ("p_admin", "p_staff", "b_admin", "q_admin")}
ADMINS_CREATE = {p: (201, 422) for p in ("p_admin", "b_admin", "q_admin")}
USER_READERS = {p: (200, 404) for p in ("p_admin", "p_staff", "p_auditor", "b_admin", "q_admin")}

TABLE: dict[str, tuple[Request, dict[str, tuple[int, int]]]] = {
    "GET /me": (lambda w, u: ("GET", "/api/v1/me", None, {}), row(anonymous=(401, 401), rest=(200, 200))),
    "GET /units/{id}": (
        lambda w, u: ("GET", f"/api/v1/units/{w.units[u].id}", None, {}),
        row(anonymous=(401, 401), rest=(200, 404)),
    ),
    "GET /units/{id}/liaison-history": (
        lambda w, u: ("GET", f"/api/v1/units/{w.units[u].id}/liaison-history", None, {}),
        row(anonymous=(401, 401), rest=(200, 404)),
    ),
    "GET /units": (
        lambda w, u: ("GET", f"/api/v1/units?parent_id={w.units[u].id}", None, {}),
        row(anonymous=(401, 401), rest=(200, 200)),
    ),
    "POST /units": (
        lambda w, u: (
            "POST",
            "/api/v1/units",
            {
                "code": f"N-{uuid.uuid4().hex[:8]}",
                "name": "新单位",
                "kind": "department",
                "parent_id": str(w.units[u].id),
            },
            {},
        ),
        row(**WRITERS, anonymous=(401, 401), rest=(403, 403)),
    ),
    "PATCH /units/{id}": (
        lambda w, u: ("PATCH", f"/api/v1/units/{w.units[u].id}", {"name": "改名"}, {"If-Match": "1"}),
        row(**{p: (200, 404) for p in WRITERS}, anonymous=(401, 401), rest=(403, 403)),
    ),
    "POST /users": (
        lambda w, u: (
            "POST",
            "/api/v1/users",
            {
                "username": f"u{uuid.uuid4().hex[:8]}",
                "password": "Qwerty12345",
                "display_name": "新用户",
                "unit_id": str(w.units[u].id),
                "roles": ["reporter"],
            },
            {},
        ),
        row(**ADMINS_CREATE, anonymous=(401, 401), rest=(403, 403)),
    ),
    "GET /users": (
        lambda w, u: ("GET", "/api/v1/users", None, {}),
        row(**{p: (200, 200) for p in USER_READERS}, anonymous=(401, 401), rest=(403, 403)),
    ),
    "GET /users/{id}": (
        lambda w, u: ("GET", f"/api/v1/users/{w.users[USER_IN[u]].id}", None, {}),
        row(**USER_READERS, anonymous=(401, 401), rest=(403, 403)),
    ),
    "POST /clients": (
        lambda w, u: (
            "POST",
            "/api/v1/clients",
            {"name": "银行", "unit_id": str(w.units[u].id), "scopes": ["units:read"]},
            {},
        ),
        row(**ADMINS_CREATE, anonymous=(401, 401), rest=(403, 403)),
    ),
    "GET /clients": (
        lambda w, u: ("GET", "/api/v1/clients", None, {}),
        row(**{p: (200, 200) for p in ADMINS_CREATE}, anonymous=(401, 401), rest=(403, 403)),
    ),
    "POST /clients/{id}/rotate-secret": (
        lambda w, u: ("POST", f"/api/v1/clients/{w.clients[CLIENT_IN[u]].id}/rotate-secret", None, {}),
        row(**{p: (200, 404) for p in ADMINS_CREATE}, anonymous=(401, 401), rest=(403, 403)),
    ),
    "GET /audit": (
        lambda w, u: ("GET", "/api/v1/audit?entity=unit", None, {}),
        row(
            p_admin=(200, 200),
            p_auditor=(200, 200),
            b_admin=(200, 200),
            q_admin=(200, 200),
            anonymous=(401, 401),
            rest=(403, 403),
        ),
    ),
    "POST /pings": (
        lambda w, u: ("POST", "/api/v1/pings", {"targets": ["notifier"]}, {}),
        row(
            p_admin=(202, 202), b_admin=(202, 202), q_admin=(202, 202), anonymous=(401, 401), rest=(403, 403)
        ),
    ),
    "GET /pings/{id}": (
        lambda w, u: ("GET", f"/api/v1/pings/{uuid.uuid4()}", None, {}),  # no such ping: 404 once allowed
        row(
            p_admin=(404, 404), b_admin=(404, 404), q_admin=(404, 404), anonymous=(401, 401), rest=(403, 403)
        ),
    ),
}

CASES = [
    pytest.param(endpoint, principal, side, id=f"{endpoint} | {principal} | {side}")
    for endpoint in TABLE
    for principal in PRINCIPALS
    for side in ("own", "other")
]


@pytest.mark.parametrize(("endpoint", "principal", "side"), CASES)
async def test_access(client: AsyncClient, world: World, endpoint: str, principal: str, side: str) -> None:
    build, expected = TABLE[endpoint]
    unit = TARGETS[principal][0 if side == "own" else 1]
    method, url, body, headers = build(world, unit)
    r = await client.request(method, url, json=body, headers={**headers, **world.auth(principal)})
    want = expected[principal][0 if side == "own" else 1]
    assert r.status_code == want, r.text
    if want >= 400:
        assert r.headers["content-type"] == "application/problem+json"


async def test_every_endpoint_is_in_the_access_table(client: AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()["paths"]
    served = {
        f"{method.upper()} {re.sub(r'{[^}]+}', '{id}', path.removeprefix('/api/v1'))}"
        for path, operations in spec.items()
        if path.startswith("/api/v1")
        for method in operations
    }
    public = {"POST /auth/token"}
    assert served - public == set(TABLE), "every endpoint must join the access table"
