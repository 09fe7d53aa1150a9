"""What an attacker tries from outside (OWASP API Security Top 10, 2023): forged tokens, bodies and
files built to exhaust the api, text PostgreSQL or a parser chokes on, injection strings in every
filter, and one county's ids used by another. Each is refused in words, never a 500, nothing saved.
(The row bomb: test_uploads.py; bodies over 11 MB and NUL by field: tests/api/test_errors.py.)"""

import base64
import io
import json
import uuid
import zipfile
from datetime import timedelta
from typing import Any

import jwt
import pytest
from httpx import AsyncClient
from openpyxl import Workbook

from services.api.auth.principal import issue_token
from shared import clock
from shared.settings import ApiSettings
from tests.helpers import record_reliability
from tests.world import World

INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE project; --",
    "%",
    "_",
    "\\",
    "%' UNION SELECT password_hash FROM app_user --",
    "{{7*7}}",
    "${jndi:ldap://x/a}",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "栾川' --",
    "a" * 5000,
]


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _tamper(token: str, **claims: Any) -> str:
    """The token with its payload changed and its signature kept."""
    head, payload, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return f"{head}.{_b64({**decoded, **claims})}.{signature}"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512 with our key: forged
async def test_forged_tokens_are_refused(
    client: AsyncClient, world: World, api_settings: ApiSettings
) -> None:
    admin = world.users["p_admin"]
    reporter = world.users["b_admin"]
    good, _ = issue_token(api_settings, subject=f"user:{reporter.id}", extra={})
    base = {"iss": "duban", "aud": "duban-api", "sub": f"user:{admin.id}", "iat": 0, "exp": 2**31}
    secret = api_settings.secret_key.get_secret_value()
    with clock.use_clock(clock.FixedClock(clock.now() - timedelta(hours=2))):
        expired, _ = issue_token(api_settings, subject=f"user:{admin.id}", extra={})
    forged = {
        "alg none": jwt.encode(base, None, algorithm="none"),
        "alg NONE": ".".join([_b64({"alg": "NONE", "typ": "JWT"}), _b64(base), ""]),
        "someone else's key": jwt.encode(base, "someone-elses-key-" * 3, algorithm="HS256"),
        "our key, another algorithm": jwt.encode(base, secret, algorithm="HS512"),
        "another audience": jwt.encode({**base, "aud": "bank"}, secret, algorithm="HS256"),
        "another issuer": jwt.encode({**base, "iss": "evil"}, secret, algorithm="HS256"),
        "no expiry": jwt.encode({k: v for k, v in base.items() if k != "exp"}, secret, algorithm="HS256"),
        "expired": expired,
        "claims changed, signature kept": _tamper(good, sub=f"user:{admin.id}"),
        "roles added, signature kept": _tamper(good, roles=["office_admin"], scope="units:write"),
        "no such account": jwt.encode({**base, "sub": f"user:{uuid.uuid4()}"}, secret, algorithm="HS256"),
        "a subject of no kind": jwt.encode({**base, "sub": f"root:{admin.id}"}, secret, algorithm="HS256"),
        "not a token": "eyJhbGciOiJIUzI1NiJ9.e30.",
        "garbage": "Ünicode-and-\x7f",
    }
    for why, token in forged.items():
        r = await client.get("/api/v1/units", headers={"Authorization": f"Bearer {token}".encode("latin-1")})
        assert r.status_code == 401, why
        assert r.headers["WWW-Authenticate"] == "Bearer" and "access token" in r.json()["detail"], why
    assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {good}"})).status_code == 200
    record_reliability("tokens", {"forged_tokens_refused": len(forged)})


def _zip_bomb(megabytes: int) -> bytes:
    """A real workbook whose sheet unpacks to `megabytes` MB: a few hundred KB zipped."""
    book = io.BytesIO()
    Workbook().save(book)
    source = zipfile.ZipFile(io.BytesIO(book.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for item in source.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                zf.writestr(item.filename, source.read(item.filename))
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b" " * (1024 * 1024)
            for _ in range(megabytes):
                sheet.write(chunk)
    return out.getvalue()


async def test_a_zip_bomb_is_refused_before_it_is_unpacked(client: AsyncClient, world: World) -> None:
    content = _zip_bomb(260)
    assert len(content) < 2_000_000
    for url in ("/api/v1/projects/import", "/api/v1/reports/import"):
        r = await client.post(
            url,
            data={"program_id": str(world.programs["P"].id)},
            files={"file": ("bomb.xlsx", content, "application/octet-stream")},
            headers=world.auth("p_admin"),
        )
        assert r.status_code == 422, r.text
        assert "200 MB" in r.json()["detail"]


async def test_deep_json_and_lone_surrogates_are_refused(client: AsyncClient, world: World) -> None:
    admin = {**world.auth("p_admin"), "Content-Type": "application/json"}
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
        r = await client.post("/api/v1/units", content=body, headers=admin)
        assert r.status_code == 400 and r.json()["type"] == "urn:duban:error:bad-request"
    escaped = b'{"code": "X-1", "name": "\\ud800", "kind": "department"}'
    raw = '{"code": "X-2", "name": "a\udcff", "kind": "department"}'.encode("utf-8", "surrogatepass")
    for body in (escaped, raw):
        r = await client.post("/api/v1/units", content=body, headers=admin)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "name"]
    listed = await client.get(
        "/api/v1/units?q=%ED%A0%80", headers=world.auth("p_admin")
    )  # a surrogate in UTF-8
    assert listed.status_code == 200


def _string_filters(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, parameter) for every free-text query parameter of every GET without path ids."""
    found = []
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if get is None or "{" in path:
            continue
        for p in get.get("parameters", []):
            schema = p.get("schema", {})
            options = schema.get("anyOf", [schema])
            if p["in"] == "query" and any(o.get("type") == "string" and "format" not in o for o in options):
                if not any("enum" in o for o in options):
                    found.append((path, p["name"]))
    return found


async def test_injection_strings_in_every_filter_are_text(client: AsyncClient, world: World) -> None:
    """Every free-text filter of every list, with SQL, template and path injections: each is
    either searched for as text (nothing matches) or refused as a malformed value; never a 500,
    never every row."""
    spec = (await client.get("/openapi.json")).json()
    filters = _string_filters(spec)
    assert ("/api/v1/projects", "q") in filters and ("/api/v1/units", "q") in filters
    admin = world.auth("p_admin")
    for path, name in filters:
        for text in INJECTIONS:
            r = await client.get(path, params={name: text}, headers=admin)
            assert r.status_code in (200, 422), (path, name, text, r.status_code)
            if r.status_code == 200 and r.headers["content-type"].startswith("application/json"):
                body = r.json()
                if isinstance(body, dict) and "count" in body and name == "q":
                    assert body["count"] == 0, (path, text)
    record_reliability("injections", {"filters": len(filters), "requests": len(filters) * len(INJECTIONS)})


@pytest.mark.parametrize("who", ["b_admin", "a_client"])
async def test_a_county_cannot_reach_another_countys_records_by_id(
    client: AsyncClient, world: World, who: str
) -> None:
    """County B (its admin, county A's system client for the reverse) names the other county's
    records in paths, filters and bodies: 404 in paths, nothing in lists, 422 or 404 in bodies;
    nothing is written."""
    theirs = "A" if who == "b_admin" else "B"
    project, unit = world.projects[theirs], world.units[theirs]
    headers = world.auth(who)
    for path in (f"/api/v1/projects/{project.id}", f"/api/v1/projects/{project.id}/reports",
                 f"/api/v1/projects/{project.id}/indicators", f"/api/v1/units/{unit.id}",
                 f"/api/v1/units/{unit.id}/reports"):  # fmt: skip
        assert (await client.get(path, headers=headers)).status_code == 404, path
    for path, params in (
        ("/api/v1/projects", {"responsible_unit_id": str(unit.id)}),
        ("/api/v1/projects", {"region_unit_id": str(unit.id)}),
        ("/api/v1/units", {"parent_id": str(unit.id)}),
        ("/api/v1/reports/dues", {"unit_id": str(unit.id)}),
        ("/api/v1/problems", {"project_id": str(project.id)}),
    ):
        r = await client.get(path, params=params, headers=headers)
        assert r.status_code in (200, 404, 422), (path, r.status_code)
        if r.status_code == 200:
            assert r.json()["count"] == 0, (path, params)
    if who == "b_admin":
        filed = await client.post(
            f"/api/v1/projects/{project.id}/reports",
            json={"period": "2018-05", "investment_month": "1", "progress_percent": "1"},
            headers=headers,
        )
        assert filed.status_code == 404
        person = {"username": f"spy-{uuid.uuid4().hex[:6]}", "display_name": "x",
                  "password": "Luanchuan2018x", "unit_id": str(unit.id), "roles": ["reporter"]}  # fmt: skip
        made = await client.post("/api/v1/users", json=person, headers=headers)
        assert made.status_code == 422 and made.json()["errors"][0]["loc"] == ["body", "unit_id"]
        moved = await client.patch(
            f"/api/v1/units/{world.units['B'].id}",
            json={"parent_id": str(unit.id)},
            headers={**headers, "If-Match": str(world.units["B"].version)},
        )
        assert moved.status_code in (403, 422)
