from uuid import uuid4

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.app import create_app
from services.api.routing import SessionDep, router
from services.api.storable import MESSAGE
from shared.models import OutboxMessage, Ping, Unit
from shared.outbox import add_message
from shared.queues import Job, PingPayload, Target
from shared.settings import ApiSettings
from tests.world import World

PROBLEM = "application/problem+json"


async def test_invalid_values_list_each_field(operator: AsyncClient) -> None:
    r = await operator.post("/api/v1/pings", json={"targets": ["scheduler"], "delay_seconds": 99})
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["type"] == "urn:duban:error:validation"
    locs = [e["loc"] for e in body["errors"]]
    assert ["body", "targets", 0] in locs and ["body", "delay_seconds"] in locs
    assert "delay_seconds" in body["detail"]


async def test_unknown_field_is_refused_by_name(operator: AsyncClient) -> None:
    r = await operator.post("/api/v1/pings", json={"target": "notifier"})
    assert r.status_code == 422
    assert {"loc": ["body", "target"], "msg": "this field is not allowed here"} in r.json()["errors"]


async def test_malformed_json_is_400(operator: AsyncClient) -> None:
    r = await operator.post(
        "/api/v1/pings", content=b'{"targets": [', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["type"] == "urn:duban:error:malformed"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/nothing-here", 404),
        ("DELETE", "/api/v1/pings", 405),
        ("GET", "/api/v1/pings/42", 404),  # an id that is not a UUID names no record
        ("PATCH", "/api/v1/projects/export.xlsx", 405),  # not a project id: the export takes GET only
        ("PATCH", "/api/v1/projects/import", 405),
    ],
)
async def test_routing_errors_are_problems(
    operator: AsyncClient, method: str, path: str, status: int
) -> None:
    r = await operator.request(method, path)
    assert r.status_code == status
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["status"] == status


async def test_405_lists_every_method_the_path_takes(operator: AsyncClient) -> None:
    """GET and PUT on /calendar/{year} are two routes; Allow names both, and the detail says so."""
    r = await operator.delete("/api/v1/calendar/2018")
    assert r.status_code == 405 and r.headers["content-type"] == PROBLEM
    assert r.headers["allow"] == "GET, PUT"
    assert r.json()["detail"] == "/api/v1/calendar/2018 does not take DELETE; it takes GET, PUT."


async def test_a_write_to_the_working_day_question_is_405_not_a_bad_year(operator: AsyncClient) -> None:
    """/calendar/add-working-days is a question (GET); PUT there is the wrong method, not a year
    that is not a number, and a year that is not a number is no calendar at all."""
    r = await operator.put("/api/v1/calendar/add-working-days", json={"holidays": [], "workdays": []})
    assert r.status_code == 405 and r.headers["allow"] == "GET"
    assert r.json()["detail"] == "/api/v1/calendar/add-working-days does not take PUT; it takes GET."
    assert (await operator.get("/api/v1/calendar/twenty-eighteen")).status_code == 404
    too_early = await operator.put("/api/v1/calendar/1899", json={"holidays": [], "workdays": []})
    assert too_early.status_code == 422 and too_early.json()["errors"][0]["loc"] == ["path", "year"]
    metrics = (await operator.get("/metrics")).text  # counted under the template OpenAPI shows
    assert 'duban_http_requests_total{method="PUT",route="/api/v1/calendar/{year}",status="422"}' in metrics


async def test_missing_record_is_404_in_words(operator: AsyncClient) -> None:
    missing = uuid4()
    r = await operator.get(f"/api/v1/pings/{missing}")
    assert r.status_code == 404
    assert r.json()["detail"] == f"There is no ping with id {missing}."


async def test_a_crash_mid_request_saves_nothing(
    api_settings: ApiSettings, sessions: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    """A bug after some writes answers 500 with the request id, and rolls the writes back."""
    crashing = router()

    @crashing.post("/crash")
    async def crash(s: SessionDep) -> None:
        ping = Ping(targets=["notifier"])
        s.add(ping)
        await s.flush()
        await add_message(
            s, producer="api", target=Target.NOTIFIER, job=Job.PING, payload=PingPayload(ping_id=ping.id)
        )
        await s.flush()
        raise RuntimeError("bug")

    app = create_app(api_settings)
    app.include_router(crashing)
    app.state.sessions = sessions
    before = await session.scalar(select(func.count()).select_from(OutboxMessage))
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://duban.test") as c:
        r = await c.post("/api/v1/crash", headers={"X-Request-ID": "req-crash-1"})
    assert r.status_code == 500
    assert r.headers["content-type"] == PROBLEM
    assert "req-crash-1" in r.json()["detail"] and "bug" not in r.json()["detail"]
    assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == before


async def test_an_oversized_body_is_413_before_it_is_read(operator: AsyncClient) -> None:
    declared = await operator.post(
        "/api/v1/pings",
        content=b"{" + b" " * (12 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert declared.status_code == 413 and declared.headers["content-type"] == PROBLEM
    assert "11 MB" in declared.json()["detail"] and declared.headers["X-Request-ID"]

    async def chunks():  # no Content-Length: counted as it arrives
        for _ in range(12):
            yield b" " * (1024 * 1024)

    streamed = await operator.post(
        "/api/v1/pings", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


async def test_nul_characters_are_refused_by_field_and_nothing_is_saved(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    """PostgreSQL cannot store U+0000; JSON, query strings and forms can all carry it."""
    admin = world.auth("p_admin")
    code = f"NUL-{uuid4().hex[:6]}"
    body = {
        "code": code,
        "name": "栾川县\u0000交通局",
        "kind": "department",
        "parent_id": str(world.units["A"].id),
        "liaison": {"name": "王\u0000芳", "phone": "138 1234 5678"},
    }
    r = await client.post("/api/v1/units", json=body, headers=admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    errors = r.json()["errors"]
    assert {"loc": ["body", "name"], "msg": MESSAGE} in errors
    assert {"loc": ["body", "liaison", "name"], "msg": MESSAGE} in errors
    assert await session.scalar(select(func.count()).select_from(Unit).where(Unit.code == code)) == 0

    listed = await client.get("/api/v1/units", params={"q": "交通\x00"}, headers=admin)
    assert listed.status_code == 422
    assert listed.json()["errors"] == [{"loc": ["query", "q"], "msg": MESSAGE}]

    form = {"grant_type": "password", "username": "p_admin\x00", "password": "x"}
    token = await client.post("/api/v1/auth/token", data=form)
    assert token.status_code == 422
    assert token.json()["errors"] == [{"loc": ["body", "username"], "msg": MESSAGE}]


async def test_a_page_past_any_listing_is_refused_in_words(operator: AsyncClient) -> None:
    r = await operator.get("/api/v1/audit", params={"page": 10**20})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "page"]
    assert "1000000000" in r.json()["errors"][0]["msg"]
