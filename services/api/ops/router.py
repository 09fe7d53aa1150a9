"""Liveness, readiness and Prometheus metrics, at the root (outside /api/v1)."""

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from shared import clock
from shared.models import CalendarYear

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Always 200 while the process serves requests."""
    return {"status": "ok"}


async def _check_database(request: Request) -> None:
    async with request.app.state.sessions() as session:
        await session.execute(text("SELECT 1"))


async def _calendar_warnings(request: Request) -> list[str]:
    """From 1 December, deadlines of the coming year need its holiday schedule loaded."""
    today = clock.today()
    if today.month != 12:
        return []
    async with request.app.state.sessions() as session:
        if await session.get(CalendarYear, today.year + 1) is not None:
            return []
    return [
        f"No working-day calendar is loaded for {today.year + 1}: deadlines in it count weekends only. "
        f"Load the State Council's schedule with PUT /api/v1/calendar/{today.year + 1}."
    ]


async def _check_redis(request: Request) -> None:
    await request.app.state.redis.ping()


@router.get(
    "/readyz",
    summary="PostgreSQL and Redis are reachable",
    responses={503: {"description": "A dependency is unreachable; `checks` names it"}},
)
async def readyz(request: Request) -> JSONResponse:
    """200 when the database and Redis both answer within the readiness timeout, else 503."""
    timeout = request.app.state.settings.readiness_timeout_seconds
    checks: dict[str, Any] = {}
    for name, check in (("database", _check_database), ("redis", _check_redis)):
        try:
            await asyncio.wait_for(check(request), timeout)
            checks[name] = "ok"
        except Exception as exc:
            checks[name] = f"unreachable: {type(exc).__name__}: {exc}"[:300]
    ready = all(v == "ok" for v in checks.values())
    body: dict[str, Any] = {"status": "ready" if ready else "not ready", "checks": checks}
    if ready and (warnings := await _calendar_warnings(request)):
        body["warnings"] = warnings  # still ready: a warning for the office, not a failure
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    """Request counts and latencies, outbox backlog, in the Prometheus text format."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
