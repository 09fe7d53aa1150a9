"""One mapping from errors to RFC 9457 problem details. Bad input never gets a 500."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import PROBLEM_CONTENT_TYPE, DomainError, problem

log = logging.getLogger(__name__)

_HTTP_NAMES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Not signed in"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_CONTENT_TYPE, headers=headers)


def _describe(err: dict[str, Any]) -> tuple[list[Any], str]:
    loc = list(err.get("loc", ()))
    msg = err.get("msg", "invalid value")
    if err.get("type") == "missing":
        msg = "this field is required"
    elif err.get("type") == "extra_forbidden":
        msg = "this field is not allowed here"
    return loc, msg


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(exc.problem(), exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in raw):
        where = next(e for e in raw if e.get("type") == "json_invalid")
        ctx = where.get("ctx", {})
        detail = f"The request body is not valid JSON ({ctx.get('error', 'syntax error')})."
        return problem_response(problem(400, "malformed", "Malformed request", detail))
    errors = [{"loc": loc, "msg": msg} for loc, msg in map(_describe, raw)]
    shown = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    body = problem(422, "validation", "Invalid values", f"Please correct: {shown}{more}.", errors)
    return problem_response(body)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    name, title = _HTTP_NAMES.get(exc.status_code, ("http-error", "Request failed"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(problem(exc.status_code, name, title, detail), headers)


def internal_error(request_id: str) -> JSONResponse:
    """The 500 answer to a bug: no internals, the request id to quote."""
    detail = (
        "Something went wrong on our side. Nothing was saved; "
        f"quote request id {request_id} when reporting it."
    )
    return problem_response(problem(500, "internal", "Internal error", detail))


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
