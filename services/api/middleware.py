"""Request id and request metrics, as plain ASGI middleware (cheap on the hot path)."""

import logging
import re
import time
import uuid
from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from prometheus_client import Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.errors import internal_error, problem_response
from shared.clock import OFFICE_TZ, answer_zone
from shared.errors import PayloadTooLarge, problem
from shared.i18n import N_, locale_var, negotiate, tr
from shared.logging import request_id_var

log = logging.getLogger(__name__)
REQUESTS = Counter("duban_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "duban_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# The largest body any endpoint takes (a 10 MB spreadsheet and its multipart wrapping), but for
# a visit's evidence (DUBAN_EVIDENCE_MAX_FILE_MB and its wrapping).
MAX_BODY_BYTES = 11 * 1024 * 1024
MB = 1024 * 1024


def body_limit(scope: Scope) -> int:
    """The largest body the request's path takes."""
    path = scope.get("path", "")
    if path.startswith("/api/v1/visits/") and path.endswith("/files"):
        settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
        return (getattr(settings, "evidence_max_file_mb", 20) + 1) * MB
    return MAX_BODY_BYTES


class _BodyTooLarge(BaseException):
    """Raised from `receive`: a BaseException, so body parsers that turn any Exception
    into a 400 let it through to the middleware, which answers 413."""


def _too_large(limit: int) -> ASGIApp:
    detail = tr("The request body is larger than {mb} MB; send a smaller file.", mb=limit // MB)
    return problem_response(PayloadTooLarge(detail).problem())


def _zone(name: str | None) -> tzinfo | None:
    """The IANA time zone a `Time-Zone` header names (Asia/Shanghai, UTC), None if it names none."""
    if name is None or not name.strip():
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _unknown_zone(name: str) -> ASGIApp:
    detail = tr(
        "Time-Zone '{zone}' is not a time zone: send an IANA name such as Asia/Shanghai or UTC, or leave "
        "the header out for Beijing time.",
        zone=name[:64],
    )
    return problem_response(problem(400, "malformed", N_("Malformed request"), detail))


class RequestContextMiddleware:
    """Give every request an id (`X-Request-ID`, kept from the caller when sane), the language
    its Accept-Language asks for and the time zone its `Time-Zone` names (Beijing time
    otherwise), count it, and answer a bug with a 500 problem that names the id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = given if _VALID_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        language = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-language"), None)
        status = 500
        response_started = False
        started = time.perf_counter()

        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"0")
        received = 0
        limit = body_limit(scope)

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                MutableHeaders(scope=message).append("X-Request-ID", request_id)
            await send(message)

        speaking = locale_var.set(negotiate(language))
        asked = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"time-zone"), None)
        zone = _zone(asked)
        zoned = answer_zone.set(zone or OFFICE_TZ)
        try:
            if declared.isdigit() and int(declared) > limit:
                raise _BodyTooLarge  # refused before a byte of it is read
            if asked is not None and zone is None:
                await _unknown_zone(asked)(scope, receive, send_with_id)
                return
            await self.app(scope, counted_receive, send_with_id)
        except _BodyTooLarge:
            if response_started:
                raise
            await _too_large(limit)(scope, receive, send_with_id)
        except ClientDisconnect:
            # The caller hung up (a phone losing signal): nothing to answer, nothing wrong here.
            log.info("client disconnected before the request was read", extra={"path": scope.get("path")})
        except Exception:
            log.exception("unhandled error", extra={"path": scope.get("path")})
            if response_started:
                raise
            await internal_error(request_id)(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            # the template as OpenAPI spells it: /calendar/{year}, not the route's /calendar/{year:int}
            template = getattr(route, "path_format", "unmatched")
            REQUESTS.labels(scope["method"], template, str(status)).inc()
            LATENCY.labels(scope["method"], template).observe(time.perf_counter() - started)
            request_id_var.reset(token)
            locale_var.reset(speaking)
            answer_zone.reset(zoned)
