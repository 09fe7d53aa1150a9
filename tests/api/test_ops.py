import uuid
from datetime import UTC, datetime

from arq.connections import ArqRedis
from httpx import AsyncClient

from shared import clock
from tests.helpers import closed_port
from tests.world import World


async def test_healthz_answers(operator: AsyncClient) -> None:
    r = await operator.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_readyz_checks_database_and_redis(operator: AsyncClient) -> None:
    r = await operator.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_readyz_names_an_unreachable_redis(operator: AsyncClient, app: object) -> None:
    working = app.state.redis  # type: ignore[attr-defined]
    app.state.redis = ArqRedis(host="127.0.0.1", port=closed_port(), socket_connect_timeout=0.5)  # type: ignore[attr-defined]
    try:
        r = await operator.get("/readyz")
    finally:
        await app.state.redis.aclose()  # type: ignore[attr-defined]
        app.state.redis = working  # type: ignore[attr-defined]
    assert r.status_code == 503
    body = r.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unreachable")


async def test_request_id_is_kept_or_made(operator: AsyncClient) -> None:
    given = await operator.get("/healthz", headers={"X-Request-ID": "county-liaison-42"})
    assert given.headers["X-Request-ID"] == "county-liaison-42"
    made = await operator.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["X-Request-ID"] != "bad id with spaces"
    assert len(made.headers["X-Request-ID"]) == 32


async def test_metrics_count_requests_by_route_template(operator: AsyncClient) -> None:
    await operator.get("/api/v1/pings/00000000-0000-0000-0000-000000000000")
    r = await operator.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert 'duban_http_requests_total{method="GET",route="/api/v1/pings/{ping_id}",status="404"}' in r.text
    assert "duban_outbox_unsent" in r.text and "duban_audit_unchained" in r.text


async def test_openapi_documents_the_ping_and_operations(operator: AsyncClient) -> None:
    r = await operator.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/pings" in paths and "/readyz" in paths
    assert (await operator.get("/docs")).status_code == 200


async def test_readyz_warns_from_december_when_next_years_calendar_is_missing(
    operator: AsyncClient, world: World
) -> None:
    with clock.use_clock(clock.FixedClock(datetime(2026, 11, 30, 12, tzinfo=UTC))):
        assert "warnings" not in (await operator.get("/readyz")).json()
    with clock.use_clock(clock.FixedClock(datetime(2026, 12, 1, 1, tzinfo=UTC))):
        r = await operator.get("/readyz")
        assert r.status_code == 200 and "PUT /api/v1/calendar/2027" in r.json()["warnings"][0]
        loaded = await operator.put("/api/v1/calendar/2027", json={"holidays": ["2027-01-01"]})
        assert loaded.status_code == 200
        assert "warnings" not in (await operator.get("/readyz")).json()


async def test_openapi_documents_errors_as_the_problem_details_the_api_answers(operator: AsyncClient) -> None:
    spec = (await operator.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    responses = spec["paths"]["/api/v1/projects/{project_id}/reports"]["post"]["responses"]
    for status in ("422", "4XX", "5XX"):
        assert list(responses[status]["content"]) == ["application/problem+json"], status
        assert responses[status]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    assert "HTTPValidationError" not in schemas  # FastAPI's own 422, which the api never answers
    r = await operator.post(f"/api/v1/projects/{uuid.uuid4()}/reports", json={"period": "2018-13"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert set(schemas["Problem"]["required"]) <= set(body) <= set(schemas["Problem"]["properties"])
    assert all(set(e) == set(schemas["ProblemError"]["properties"]) for e in body["errors"])
