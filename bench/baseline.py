"""Bare baselines, served the same way as the api (uvicorn, uvloop, httptools, one process):
a JSON endpoint and a one-row asyncpg INSERT endpoint. Nothing else: no framework, no ORM.

Beside them, the ceiling of a report filing: the body parsed with json and handed to the
database's file_project_report function — all a filing must do in PostgreSQL, nothing in Python."""

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.library import LIST_FILTERS, LIST_SQL, file_in_db


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


_CLAIM = (
    "SELECT pg_try_advisory_xact_lock(hashtextextended($2 || $1, 0)) AS held, now() AS now, k.response_body "
    "FROM (SELECT 1) AS one LEFT JOIN idempotency_key k ON k.scope = $1 AND k.key = $2"
)
_KEEP = (
    "INSERT INTO idempotency_key (scope, key, request_hash, method, path, status_code, response_headers, "
    "response_body, created_at) VALUES ($1, $2, '-', 'POST', '/insert', 201, '{}', $3, now())"
)


async def bare_insert_keyed(request: Request) -> Response:
    """The bare INSERT kept with its Idempotency-Key as the api keeps one: in one transaction, the
    key claimed (lock, stored answer and clock in one statement), the row, the answer stored —
    the floor of what a key costs a one-statement write in round trips alone."""
    payload, key = await request.body(), request.headers["Idempotency-Key"]
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        claimed = await conn.fetchrow(_CLAIM, "bench", key)
        if claimed["response_body"] is not None:
            return Response(claimed["response_body"], 201, media_type="application/json")
        row_id = await conn.fetchval(
            "INSERT INTO bench_baseline (payload) VALUES ($1) RETURNING id", payload.decode()
        )
        answer = json.dumps({"id": row_id}).encode()
        await conn.execute(_KEEP, "bench", key, answer)
    return Response(answer, 201, media_type="application/json")


async def bare_filing(request: Request) -> Response:
    body = json.loads(await request.body())
    project_id, report_id = uuid.UUID(request.path_params["project_id"]), uuid.uuid4()
    async with request.app.state.pool.acquire() as conn:
        filed = await file_in_db(conn, project_id, body, report_id, datetime.now(UTC))
    return _json({"id": str(report_id), "version": filed["o_version"], "late": filed["o_late"]}, 201)


async def bare_projects(request: Request) -> Response:
    """The same page the api's list returns, straight from asyncpg (no auth, no count, no ORM)."""
    async with request.app.state.pool.acquire() as conn:
        rows = await conn.fetch(LIST_SQL, *LIST_FILTERS.values())
    return _json({"data": [{k: _plain(v) for k, v in r.items()} for r in rows]})


BARE_SCORES = (
    "INSERT INTO observation_score (id, round_id, inspector_id, project_id, criterion, value, scored_at, "
    "client_id, received_at) "
    "SELECT gen_random_uuid(), $1, $2, v.project, v.criterion, v.value, v.at, v.client, now() "
    "FROM unnest($3::uuid[], $4::text[], $5::numeric[], $6::timestamptz[], $7::uuid[]) "
    "AS v(project, criterion, value, at, client) "
    "ON CONFLICT (round_id, inspector_id, project_id, criterion) DO UPDATE "
    "SET value = excluded.value, scored_at = excluded.scored_at, client_id = excluded.client_id "
    "WHERE observation_score.scored_at < excluded.scored_at"
)


async def bare_scores(request: Request) -> Response:
    """A batch of scores in one INSERT … SELECT FROM unnest(…): no auth, no checks, no receipts."""
    scores = json.loads(await request.body())["scores"]
    round_id, inspector = (
        uuid.UUID(request.path_params["round_id"]),
        uuid.UUID(request.query_params["inspector"]),
    )
    async with request.app.state.pool.acquire() as conn:
        await conn.execute(
            BARE_SCORES,
            round_id,
            inspector,
            [uuid.UUID(s["project_id"]) for s in scores],
            [s["criterion"] for s in scores],
            [Decimal(str(s["value"])) for s in scores],
            [datetime.fromisoformat(s["scored_at"]) for s in scores],
            [uuid.UUID(s["client_id"]) for s in scores],
        )
    return _json({"accepted": len(scores)})


def _plain(value: object) -> object:
    return value if isinstance(value, (int, str, type(None))) else str(value)


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
    routes=[
        Route("/json", bare_json),
        Route("/insert", bare_insert, methods=["POST"]),
        Route("/insert-keyed", bare_insert_keyed, methods=["POST"]),
        Route("/projects", bare_projects),
        Route("/projects/{project_id}/reports", bare_filing, methods=["POST"]),
        Route("/rounds/{round_id}/scores", bare_scores, methods=["POST"]),
    ],
    lifespan=lifespan,
)
