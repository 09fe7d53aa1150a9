"""`Idempotency-Key` on POST: same key and request → the first response again; another
request → 422; the first still running → 409. The response is stored in the transaction of
the effect, so a crash loses both or keeps both.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from fastapi import Request, Response
from sqlalchemy import CursorResult, delete, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from shared.errors import Conflict, ValidationFailed
from shared.i18n import located, tr
from shared.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
_KEPT_HEADERS = ("content-type", "location")


@dataclass(frozen=True)
class Claim:
    """A key this request holds until its transaction ends."""

    scope: str
    key: str
    request_hash: str


def caller_scope(request: Request) -> str:
    """Whose keys these are: the authenticated principal, else anonymous."""
    principal = getattr(request.state, "principal", None)
    return principal.key if principal is not None else "anonymous"


def lock_id(scope: str, key: str) -> int:
    """A signed 64-bit advisory-lock id for (scope, key)."""
    digest = hashlib.sha256(f"idempotency\0{scope}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _canonical(body: bytes) -> bytes:
    """The same JSON whatever its key order and spacing; a body that is not JSON stays as it is."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    return json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def request_hash(request: Request, body: bytes) -> str:
    """What "the same request" means: method, path, query and body. A multipart body is
    compared without its boundary, which clients draw anew for every attempt."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = _canonical(body)
    if content_type.startswith("multipart/"):
        boundary = content_type.partition("boundary=")[2].split(";")[0].strip().strip('"')
        if boundary:
            body = body.replace(boundary.encode(), b"")
    h = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), request.url.query.encode(), body):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


_CLAIM = text(
    "SELECT pg_try_advisory_xact_lock(:lock) AS held, now() AS now, k.request_hash, k.method, k.path, "
    "k.status_code, k.response_headers, k.response_body, k.created_at "
    "FROM (SELECT 1) AS one LEFT JOIN idempotency_key k ON k.scope = :scope AND k.key = :key"
).columns(response_headers=JSONB)


def _key_error(msg: str) -> ValidationFailed:
    return ValidationFailed(msg, errors=[{"loc": ["header", HEADER], "msg": located([HEADER], msg)}])


async def begin(session: AsyncSession, request: Request, *, key: str, ttl: timedelta) -> Claim | Response:
    """Take the key for this request, or answer from what is stored for it."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise _key_error(tr("{header} must be 1 to {n} characters long", header=HEADER, n=MAX_KEY_LENGTH))
    scope = caller_scope(request)
    claim = Claim(scope, key, request_hash(request, await request.body()))
    # One round trip: the key's lock, the stored answer and the clock. Should the request holding
    # the key commit between this statement's snapshot and its lock, the answer is not seen here;
    # then this request's own record collides with it at commit, and it rolls back as 409.
    row = (await session.execute(_CLAIM, {"lock": lock_id(scope, key), "scope": scope, "key": key})).one()
    if not row.held:
        raise Conflict(
            tr(
                "A request with this {header} is still being processed; retry once it has finished.",
                header=HEADER,
            ),
            headers={"Retry-After": "1"},
        )
    record = row if row.request_hash is not None else None
    if record is not None and record.created_at < row.now - ttl:
        await session.execute(
            delete(IdempotencyRecord).where(
                col(IdempotencyRecord.scope) == scope, col(IdempotencyRecord.key) == key
            )
        )
        record = None
    if record is None:
        return claim
    if record.request_hash != claim.request_hash:
        raise _key_error(
            tr(
                "This {header} was already used for a different request ({method} {path}); "
                "use a new key for a new request.",
                header=HEADER,
                method=record.method,
                path=record.path,
            )
        )
    headers = {**record.response_headers, REPLAYED_HEADER: "true"}
    return Response(content=record.response_body, status_code=record.status_code, headers=headers)


def store(session: AsyncSession, request: Request, claim: Claim, response: Response) -> None:
    """Keep the response with the effect, in the same transaction."""
    session.add(
        IdempotencyRecord(
            scope=claim.scope,
            key=claim.key,
            request_hash=claim.request_hash,
            method=request.method,
            path=request.url.path,
            status_code=response.status_code,
            response_headers={k: v for k, v in response.headers.items() if k in _KEPT_HEADERS},
            response_body=bytes(response.body),
        )
    )


async def purge_expired(session: AsyncSession, ttl: timedelta) -> int:
    """Forget keys older than the retention period."""
    result = await session.execute(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < func.now() - ttl)
    )
    return cast(CursorResult[Any], result).rowcount or 0
