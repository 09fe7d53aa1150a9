from uuid import uuid4

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.app import create_app
from services.api.routing import SessionDep, router
from shared.models import OutboxMessage, Ping
from shared.outbox import add_message
from shared.queues import Job, PingPayload, Target
from shared.settings import ApiSettings

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
        ("GET", "/api/v1/pings/42", 422),
    ],
)
async def test_routing_errors_are_problems(
    operator: AsyncClient, method: str, path: str, status: int
) -> None:
    r = await operator.request(method, path)
    assert r.status_code == status
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["status"] == status


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
