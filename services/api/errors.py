"""One mapping from errors to RFC 9457 problem details. Bad input never gets a 500."""

import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from services.api import storable
from services.api.preconditions import HEADER as IF_MATCH
from services.api.validation import rule_faults
from shared.db import busy, sqlstate
from shared.errors import PROBLEM_CONTENT_TYPE, DomainError, PreconditionRequired, problem
from shared.filestore import StoreUnavailable
from shared.i18n import N_, current, listing, located, pydantic_message, tr, where

log = logging.getLogger(__name__)

_HTTP_NAMES = {
    400: ("bad-request", N_("Bad request")),
    401: ("unauthorized", N_("Not signed in")),
    403: ("forbidden", N_("Not allowed")),
    404: ("not-found", N_("Not found")),
    405: ("method-not-allowed", N_("Method not allowed")),
    406: ("not-acceptable", N_("Not acceptable")),
    413: ("payload-too-large", N_("Too large")),
    415: ("unsupported-media-type", N_("Unsupported media type")),
}

# FastAPI's one detail of its own: a body (a multipart upload) it could not parse.
_FRAMEWORK_DETAILS = (N_("There was an error parsing the body"),)


class ProblemError(BaseModel):
    loc: list[str | int] = Field(examples=[["body", "progress_percent"]])
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details: the body of every error the api answers."""

    type: str = Field(examples=["urn:duban:error:not-found"], description="`urn:duban:error:<name>`")
    title: str
    status: int
    detail: str = Field(description="what is wrong, in words a person can act on")
    errors: list[ProblemError] | None = Field(default=None, description="422 only: each field that is wrong")


_PROBLEM = {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
# Declared on every /api/v1 operation (FastAPI's own 422 would say application/json).
RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid values: `errors` names each field that is wrong", "content": _PROBLEM},
    "4XX": {
        "description": "400 malformed, 401 not signed in, 403 not allowed, 404 not found or not visible "
        "to you, 409 state conflict, 412 stale If-Match, 413 too large, 428 If-Match required, "
        "429 throttled",
        "content": _PROBLEM,
    },
    "5XX": {
        "description": "A fault on our side: nothing was saved, and `detail` quotes the request id",
        "content": _PROBLEM,
    },
}


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    """The problem as JSON, saying which language its words are in."""
    language = {"Content-Language": current().replace("_", "-"), "Vary": "Accept-Language"}
    return JSONResponse(
        body,
        status_code=body["status"],
        media_type=PROBLEM_CONTENT_TYPE,
        headers={**language, **(headers or {})},
    )


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(exc.problem(), exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in raw):
        broken = next(e for e in raw if e.get("type") == "json_invalid")
        ctx = broken.get("ctx", {})
        detail = tr("The request body is not valid JSON ({error}).", error=ctx.get("error", "syntax error"))
        return problem_response(problem(400, "malformed", N_("Malformed request"), detail))
    if raw and all(
        e.get("type") == "missing" and list(e.get("loc", ())) == ["header", IF_MATCH] for e in raw
    ):
        return _if_match_required()
    faults = [(list(e.get("loc", ())), pydantic_message(e)) for e in raw]
    # the business rules too, over the fields that passed (services/api/validation.py), each
    # fault once: none at or inside a field the schema already faulted
    for loc, msg in await rule_faults(request, exc):
        if not any(loc[: len(seen)] == seen for seen, _ in faults):
            faults.append((loc, msg))
    errors = [{"loc": loc, "msg": located(loc, msg)} for loc, msg in faults]
    shown = listing([tr("{where}: {msg}", where=where(loc), msg=msg) for loc, msg in faults[:5]])
    if len(faults) > 5:
        shown = tr("{faults} (and {n} more)", faults=shown, n=len(faults) - 5)
    body = problem(
        422, "validation", N_("Invalid values"), tr("Please correct: {faults}.", faults=shown), errors
    )
    return problem_response(body)


def _if_match_required() -> JSONResponse:
    """428: an update sent without If-Match (declared required, so FastAPI calls it missing)."""
    detail = tr(
        "Send 'If-Match: <version>' with the version you last read, so concurrent edits are not lost."
    )
    return problem_response(PreconditionRequired(detail).problem())


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    name, title = _HTTP_NAMES.get(exc.status_code, ("http-error", N_("Request failed")))
    # Starlette's details are its reason phrases ("Not Found"): the title says as much.
    detail = tr(exc.detail) if exc.detail in _FRAMEWORK_DETAILS else tr(title)
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:
        # Starlette's Allow names the methods of the first route on the path only (PUT where
        # GET and PUT are two routes); list every method the path takes.
        allowed = _allowed_methods(request)
        headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        detail = tr(
            "{path} does not take {method}; it takes {allowed}.",
            path=request.url.path,
            method=request.method,
            allowed=", ".join(allowed),
        )
    elif exc.status_code == 404 and detail == tr(title):
        # no route matched: a path that does not exist, or an id in it that is not a UUID
        detail = tr("There is nothing at {path}; ids in paths are UUIDs.", path=request.url.path)

    return problem_response(problem(exc.status_code, name, title, detail), headers)


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return sorted(methods)


# A dependency that went away answers 503 with Retry-After, never 500: the client retries (with
# its Idempotency-Key) instead of reporting a bug. The database's errors are the lost-connection
# kinds and a busy server's (shared.db.busy) only; anything else from it is still a bug.
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
DATABASE_GONE = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InterfaceError,  # "connection is closed"
    ConnectionError,
)


def lost_database(exc: BaseException) -> bool:
    """Whether `exc` says the database connection went away (not a bug of ours)."""
    if isinstance(exc, DBAPIError):
        return (
            exc.connection_invalidated
            or isinstance(exc.orig, DATABASE_GONE)
            or isinstance(getattr(exc.orig, "__cause__", None), DATABASE_GONE)
        )
    return isinstance(exc, DATABASE_GONE)


def unavailable(what: str, retry_after: int) -> JSONResponse:
    """503: `what` (a message id) is away for a moment."""
    detail = tr(
        "{what} is unavailable for a moment; nothing was saved. Try again in {seconds} s.",
        what=tr(what),
        seconds=retry_after,
    )
    body = problem(503, "unavailable", N_("Service unavailable"), detail)
    return problem_response(body, {"Retry-After": str(retry_after)})


async def _redis_down(_: Request, exc: Exception) -> JSONResponse:
    log.warning("Redis unavailable", extra={"error": repr(exc)})
    return unavailable(N_("Redis (sign-in throttling and the job queues)"), 5)


async def _store_down(_: Request, exc: Exception) -> JSONResponse:
    log.warning("file store unavailable", extra={"error": repr(exc)})
    return unavailable(N_("The file store (evidence photos and documents)"), 5)


async def _database_error(_: Request, exc: Exception) -> JSONResponse:
    if busy(exc):
        log.warning("database busy", extra={"error": repr(exc), "sqlstate": sqlstate(exc)})
        return unavailable(N_("The database (it is busy)"), 1)
    if not lost_database(exc):
        raise exc  # a bug: the middleware answers 500 with the request id
    log.warning("database connection lost", extra={"error": repr(exc)})
    return unavailable(N_("The database (its connection was lost)"), 1)


def internal_error(request_id: str) -> JSONResponse:
    """The 500 answer to a bug: no internals, the request id to quote."""
    detail = tr(
        "Something went wrong on our side. Nothing was saved; "
        "quote request id {request_id} when reporting it.",
        request_id=request_id,
    )
    return problem_response(problem(500, "internal", N_("Internal error"), detail))


def install(app: FastAPI) -> None:
    """Register the handlers on `app`, and the `Problem` schema its OpenAPI refers to."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(StoreUnavailable, _store_down)
    for redis_error in REDIS_DOWN:
        app.add_exception_handler(redis_error, _redis_down)
    for database_error in (DBAPIError, *DATABASE_GONE):
        app.add_exception_handler(database_error, _database_error)
    amend_openapi(app, _declare_problems)


def _declare_problems(spec: dict[str, Any]) -> None:
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(problem_schema.pop("$defs", {}))
    schemas["Problem"] = problem_schema
    # what requests may carry (the problems answered may quote anything sent, NUL too)
    storable.declare({k: v for k, v in spec.items() if k != "components"})
    storable.declare({k: v for k, v in schemas.items() if k not in ("Problem", "ProblemError")})


def amend_openapi(app: FastAPI, amend: Callable[[dict[str, Any]], None]) -> None:
    """Change the OpenAPI document FastAPI builds, once, as it is first built (FastAPI keeps it)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        spec = build()
        if fresh:
            amend(spec)
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
