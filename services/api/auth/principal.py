"""Who a request acts for, resolved once per request from its bearer token.

A checked token is remembered for `principal_cache_seconds` (never past its expiry), so the hot
paths skip the account lookup. Any commit in this process that touches an account, a client or a
unit forgets every remembered token; other api processes notice within that many seconds.
"""

import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import jwt
from fastapi import Request
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from shared import clock
from shared.audit import Actor
from shared.errors import Unauthorized
from shared.i18n import N_, tr
from shared.models import ApiClient, AppUser, Unit
from shared.settings import ApiSettings

_ALGORITHMS = ["HS256"]  # the allow-list: a token naming any other algorithm is refused
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_REVOKED = N_(
    "The access token was issued before the account's password or access last changed; "
    "sign in again at POST /api/v1/auth/token."
)
_INVALID = N_("The access token is not valid; sign in again at POST /api/v1/auth/token.")
_GONE = N_(
    "The access token belongs to an account that no longer exists or was disabled; "
    "sign in again at POST /api/v1/auth/token."
)


@dataclass(frozen=True)
class Principal:
    kind: str  # user | client
    id: uuid.UUID
    name: str
    unit_id: uuid.UUID
    unit_path: str
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    must_change_password: bool = False  # signed in with a one-time password: changes it first

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def actor(self) -> Actor:
        return Actor(self.kind, str(self.id))


PRINCIPALS_CHANGED = "duban_principals_changed"
_WHO = (AppUser, ApiClient, Unit)


@event.listens_for(Session, "after_flush")
def _note_principal_changes(session: Session, _: Any) -> None:
    if any(isinstance(o, _WHO) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info[PRINCIPALS_CHANGED] = True


class PrincipalCache:
    """Tokens already checked, with their principals, until `ttl` seconds or the token's expiry."""

    def __init__(self, ttl: float, max_size: int = 10_000) -> None:
        self.ttl, self.max_size = ttl, max_size
        self._known: dict[str, tuple[Principal, float]] = {}

    def get(self, token: str) -> Principal | None:
        hit = self._known.get(token)
        if hit is None:
            return None
        if hit[1] <= time.monotonic():
            self._known.pop(token, None)
            return None
        return hit[0]

    def put(self, token: str, principal: Principal, expires_at: float) -> None:
        if self.ttl <= 0:
            return
        if len(self._known) >= self.max_size:
            self._known.clear()
        remaining = expires_at - time.time()
        self._known[token] = (principal, time.monotonic() + min(self.ttl, remaining))

    def clear(self) -> None:
        self._known.clear()


def issue_token(settings: ApiSettings, *, subject: str, extra: dict[str, object]) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    now = clock.now()
    lifetime = timedelta(minutes=settings.access_token_minutes)
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
        "iat_us": int(now.timestamp() * 1_000_000),  # `iat` to the microsecond: revocation is exact
        **extra,
    }
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=_ALGORITHMS[0])
    return token, int(lifetime.total_seconds())


def _bad_token(why: str) -> Unauthorized:
    """401 saying what is wrong with the token (`why`, a message id)."""
    return Unauthorized(tr(why), headers=_CHALLENGE)


async def authenticate(
    session: AsyncSession, request: Request, settings: ApiSettings, cache: PrincipalCache
) -> Principal | None:
    """The principal of a request with `Authorization: Bearer …`, None without one."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(
            tr("Send the access token as 'Authorization: Bearer <token>'."), headers=_CHALLENGE
        )
    known = cache.get(token)
    if known is not None:
        return known
    claims = _claims(token, settings)
    principal = await _load(session, claims)
    cache.put(token, principal, float(claims["exp"]))
    return principal


def _claims(token: str, settings: ApiSettings) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=_ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise _bad_token(
            N_("The access token has expired; sign in again at POST /api/v1/auth/token.")
        ) from None
    except jwt.InvalidTokenError:
        raise _bad_token(_INVALID) from None


async def _load(session: AsyncSession, claims: dict[str, Any]) -> Principal:
    kind, _, raw_id = str(claims["sub"]).partition(":")
    try:
        subject_id = uuid.UUID(raw_id)
    except ValueError:
        raise _bad_token(_INVALID) from None
    if kind == "user":
        user = (
            await session.execute(
                select(AppUser, col(Unit.path))
                .join(Unit, col(Unit.id) == col(AppUser.unit_id))
                .where(col(AppUser.id) == subject_id)
            )
        ).first()
        if user is None or not user[0].is_active:
            raise _bad_token(_GONE)
        person, path = user
        revoked = person.tokens_valid_after
        issued = claims.get("iat_us", int(claims["iat"]) * 1_000_000)
        if revoked is not None and issued < int(revoked.timestamp() * 1_000_000):
            raise _bad_token(_REVOKED)
        return Principal(
            "user",
            person.id,
            person.username,
            person.unit_id,
            path,
            roles=frozenset(person.roles),
            must_change_password=person.must_change_password,
        )
    if kind != "client":
        raise _bad_token(_INVALID)
    found = (
        await session.execute(
            select(ApiClient, col(Unit.path))
            .join(Unit, col(Unit.id) == col(ApiClient.unit_id))
            .where(col(ApiClient.id) == subject_id)
        )
    ).first()
    if found is None or not found[0].is_active:
        raise _bad_token(_GONE)
    who, path = found
    granted = frozenset(who.scopes) & frozenset(str(claims.get("scope", "")).split())
    return Principal("client", who.id, who.name, who.unit_id, path, scopes=granted)
