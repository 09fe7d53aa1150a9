"""Bare baselines, served the same way as the api (uvicorn, uvloop, httptools, one process):
a JSON endpoint and a one-row asyncpg INSERT endpoint. Nothing else: no framework, no ORM."""

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def _json(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json")


async def bare_json(_: Request) -> Response:
    return _json({"status": "ok"})


async def bare_insert(request: Request) -> Response:
    payload = await request.body()
    async with request.app.state.pool.acquire() as conn:
        row_id = await conn.fetchval(
            "INSERT INTO bench_baseline (payload) VALUES ($1) RETURNING id", payload.decode()
        )
    return _json({"id": row_id}, 201)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.pool = await asyncpg.create_pool(os.environ["BENCH_DATABASE_URL"], min_size=10, max_size=20)
    await app.state.pool.execute(
        "CREATE TABLE IF NOT EXISTS bench_baseline "
        "(id bigserial PRIMARY KEY, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
    )
    yield
    await app.state.pool.close()


app = Starlette(
    routes=[Route("/json", bare_json), Route("/insert", bare_insert, methods=["POST"])], lifespan=lifespan
)
