"""The OpenAPI says what the api enforces, so generated clients and fuzzers agree with it
(tests/e2e/test_fuzz.py runs schemathesis's every check against it)."""

import re
import uuid
from typing import Any

from httpx import AsyncClient

from tests.world import World


async def _spec(client: AsyncClient) -> dict[str, Any]:
    return (await client.get("/openapi.json")).json()


async def test_updates_declare_if_match_and_take_nothing_else(client: AsyncClient, world: World) -> None:
    spec = await _spec(client)
    patches = [(path, ops["patch"]) for path, ops in spec["paths"].items() if "patch" in ops]
    assert len(patches) >= 3
    for path, op in patches:
        [header] = [p for p in op["parameters"] if p["in"] == "header"]
        assert header["name"] == "If-Match" and header["required"], path
        assert re.fullmatch(header["schema"]["pattern"], '"3"') and not re.fullmatch(
            header["schema"]["pattern"], "x"
        )
    unit = f"/api/v1/units/{world.units['A'].id}"
    admin = world.auth("p_admin")
    missing = await client.patch(unit, json={"name": "栾川"}, headers=admin)
    malformed = await client.patch(unit, json={"name": "栾川"}, headers={**admin, "If-Match": "latest"})
    assert missing.status_code == 428
    assert malformed.status_code == 422 and malformed.json()["errors"][0]["loc"] == ["header", "If-Match"]


async def test_dates_as_of_and_free_text_carry_their_forms(client: AsyncClient) -> None:
    spec = await _spec(client)
    schemas = spec["components"]["schemas"]
    day = schemas["ProjectCreate"]["properties"]["start_date"]["pattern"]
    assert re.fullmatch(day, "2018-03-01") and not re.fullmatch(day, "1999-12-31")
    assert not re.fullmatch(day, "2101-01-01") and not re.fullmatch(day, "2018-13-01")
    [as_of] = [p for p in spec["paths"]["/api/v1/reports/dues"]["get"]["parameters"] if p["name"] == "as_of"]
    form = as_of["schema"]["anyOf"][0]["pattern"]
    for good in ("2018-10-08", "2018-10-08T09:00:00+08:00", "2018-10-08T09:00Z", "2018-10-08 09:00"):
        assert re.fullmatch(form, good), good
    for bad in ("2018-10-8", "yesterday", "1999-10-08", "2018-10-08T25:00"):
        assert not re.fullmatch(form, bad), bad
    note = schemas["ProjectReportIn"]["properties"]["note"]["anyOf"][0]
    assert note["pattern"] == "^[^\\u0000]*$"  # NUL is refused, and said so
    money = schemas["ProjectReportIn"]["properties"]["investment_month"]["anyOf"]
    assert {o["type"] for o in money} == {"number", "string"} and all(
        "pattern" in o for o in money if o["type"] == "string"
    )
    token = schemas["Body_token_api_v1_auth_token_post"]["properties"]["grant_type"]
    assert token["minLength"] == 1 and token["enum"] == ["password", "client_credentials"]
    assert schemas["WebhookCreate"]["properties"]["events"]["uniqueItems"] is True
    # a problem answered may quote what was sent: its strings carry no pattern
    assert "pattern" not in schemas["ProblemError"]["properties"]["msg"]


async def test_a_setting_that_is_not_a_number_is_refused(client: AsyncClient, world: World) -> None:
    """`target_resolution_rate: false` was stored as 0 (false counted as a number); a rule's
    `enabled: 0` switched it off (0 counted as false)."""
    program = world.programs["P"]
    r = await client.patch(
        f"/api/v1/programs/{program.id}",
        json={"problem_rules": {"deadline_working_days": 10, "target_resolution_rate": False}},
        headers={**world.auth("p_admin"), "If-Match": str(program.version)},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "target_resolution_rate"
    url, admin = f"/api/v1/programs/{program.id}", world.auth("p_admin")
    yes = await client.patch(url, json={"problem_rules": {"deadline_working_days": True}},
                             headers={**admin, "If-Match": str(program.version)})  # fmt: skip
    assert yes.status_code == 422 and yes.json()["errors"][0]["loc"][-1] == "deadline_working_days"
    whole = await client.patch(url, json={"problem_rules": {"deadline_working_days": 12.0}},
                               headers={**admin, "If-Match": str(program.version)})  # fmt: skip
    assert whole.status_code == 200, whole.text  # 12.0 is a whole number, as JSON Schema's integer says
    version = whole.json()["version"]
    switches = [
        {"notice_rules": {"moving_slowly": {"enabled": 0}}},
        {"report_schedules": [{"kind": "unit_weekly", "due_weekday": 1, "move_to_next_working_day": 1}]},
    ]
    for body in switches:  # a rule switched by 0 or 1: JSON Schema's boolean is true or false only
        r = await client.patch(url, json=body, headers={**admin, "If-Match": str(version)})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"][-1] in ("enabled", "move_to_next_working_day")


async def test_a_replacement_named_twice_is_422_before_the_version_is_checked(
    client: AsyncClient, world: World
) -> None:
    """The body is wrong whatever the version: 422 naming the field, not 412."""
    other = str(world.projects["B"].id)
    r = await client.post(
        f"/api/v1/projects/{world.projects['A'].id}/withdraw",
        json={"reason": "用地调整", "replacement_project_ids": [other, other]},
        headers={**world.auth("p_admin"), "If-Match": "999"},
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "replacement_project_ids"]


async def test_bounds_are_json_schemas_own_and_every_declared_form_is_taken(
    client: AsyncClient, world: World
) -> None:
    """Optional bounded numbers declare minimum/maximum (not pydantic's ge/le, which validators
    ignore); an instant ending in a lowercase z, which the pattern allows, is read; a score's value
    is a JSON number, not "1_0" or true."""
    schemas = (await _spec(client))["components"]["schemas"]
    for schema, field, low, high in (
        ("EscalationLevel", "working_days", 0, 120),
        ("EscalationLevel", "before_working_days", 1, 30),
        ("RejectIn", "due_in_working_days", 1, 60),
        ("ReportSchedule", "due_weekday", 1, 7),
        ("ReportSchedule", "due_day", 1, 28),
    ):
        bounded = schemas[schema]["properties"][field]["anyOf"][0]
        assert (bounded.get("minimum"), bounded.get("maximum")) == (low, high), (schema, field, bounded)
        assert not {"ge", "le"} & set(bounded), (schema, field)
    r = await client.get(
        "/api/v1/reports/dues",
        params={"as_of": "2018-10-08T01:00:00z", "program_id": str(world.programs["P"].id)},
        headers=world.auth("p_staff"),
    )
    assert r.status_code == 200, r.text
    empty = await client.get(
        "/api/v1/reports/dues", params={"as_of": "", "program_id": str(world.programs["P"].id)},
        headers=world.auth("p_staff"),
    )  # fmt: skip
    assert empty.status_code == 422 and "as_of" in empty.text, empty.text
    score = schemas["ScoreIn"]["properties"]["value"]
    # a number, or one written as a string; a string that is not a number is that score's
    # rejection, not the batch's 422 (tests/api/test_rounds.py)
    assert [form["type"] for form in score["anyOf"]] == ["number", "string"]
    for value in (True, None, {"v": 1}):
        r = await client.post(
            f"/api/v1/rounds/{world.rounds['P'].id}/scores",
            json={"scores": [{"client_id": str(uuid.uuid4()), "project_id": str(uuid.uuid4()),
                              "criterion": "c", "value": value, "scored_at": "2018-09-12T09:00:00+08:00"}]},
            headers=world.auth("p_staff"),
        )  # fmt: skip
        assert r.status_code == 422 and "value" in r.text, (value, r.text)


# the way in, the probes, and the public list of a program's projects (公示)
PUBLIC = {
    "POST /api/v1/auth/token",
    "GET /healthz",
    "GET /readyz",
    "GET /metrics",
    "GET /api/v1/public/programs/{program_id}/projects",
}


async def test_every_signed_in_operation_declares_the_bearer_token_and_its_permission(
    client: AsyncClient,
) -> None:
    spec = await _spec(client)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "an access token from POST /api/v1/auth/token",
    }
    assert schemes["password"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert schemes["client"]["flows"]["clientCredentials"]["tokenUrl"] == "/api/v1/auth/token"
    scopes = set(schemes["password"]["flows"]["password"]["scopes"])
    unsecured = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if f"{method.upper()} {path}" in PUBLIC:
                assert "security" not in operation
                continue
            security = operation.get("security")
            if not security:
                unsecured.append(f"{method.upper()} {path}")
                continue
            assert {"bearer": []} in security
            needed = next(s["password"] for s in security if "password" in s)
            assert set(needed) <= scopes
    assert unsecured == [], unsecured
    create_round = spec["paths"]["/api/v1/rounds"]["post"]["security"]
    assert {"client": ["programs:write"]} in create_round, create_round  # the office's permission


async def test_the_docs_pages_need_nothing_from_outside(client: AsyncClient) -> None:
    """/docs and /redoc on an intranet: every script, style sheet and icon they load is served
    by the api itself."""
    for page in ("/docs", "/redoc"):
        r = await client.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        loaded = re.findall(r'(?:src|href)="([^"]+)"', r.text)
        assert loaded and all(url.startswith("/docs/assets/") for url in loaded), (page, loaded)
        assert "openapi.json" in r.text
        for url in loaded:
            asset = await client.get(url)
            assert asset.status_code == 200 and len(asset.content) > 500, url
    swagger = (await client.get("/docs")).text
    assert "oauth2RedirectUrl" in swagger and "/docs/oauth2-redirect" in swagger
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200
