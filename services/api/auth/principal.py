"""Who a request acts for, resolved once per request from its bearer token."""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import jwt
from fastapi import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.audit import Actor
from shared.errors import Unauthorized
from shared.models import ApiClient, AppUser, Unit
from shared.settings import ApiSettings

_ALGORITHMS = ["HS256"]  # the allow-list: a token naming any other algorithm is refused
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@dataclass(frozen=True)
class Principal:
    kind: str  # user | client
    id: uuid.UUID
    name: str
    unit_id: uuid.UUID
    unit_path: str
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def actor(self) -> Actor:
        return Actor(self.kind, str(self.id))


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
        **extra,
    }
    token = jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=_ALGORITHMS[0])
    return token, int(lifetime.total_seconds())


def _bad_token(why: str) -> Unauthorized:
    return Unauthorized(
        f"The access token {why}; sign in again at POST /api/v1/auth/token.", headers=_CHALLENGE
    )


async def authenticate(session: AsyncSession, request: Request, settings: ApiSettings) -> Principal | None:
    """The principal of a request with `Authorization: Bearer …`, None without one."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Send the access token as 'Authorization: Bearer <token>'.", headers=_CHALLENGE)
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=_ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise _bad_token("has expired") from None
    except jwt.InvalidTokenError:
        raise _bad_token("is not valid") from None
    kind, _, raw_id = str(claims["sub"]).partition(":")
    try:
        subject_id = uuid.UUID(raw_id)
    except ValueError:
        raise _bad_token("is not valid") from None
    model = {"user": AppUser, "client": ApiClient}.get(kind)
    if model is None:
        raise _bad_token("is not valid")
    found = (
        await session.execute(
            select(model, Unit.path).join(Unit, Unit.id == model.unit_id).where(model.id == subject_id)
        )
    ).first()
    if found is None or not found[0].is_active:
        raise _bad_token("belongs to an account that no longer exists or was disabled")
    who, path = found
    if isinstance(who, AppUser):
        return Principal("user", who.id, who.username, who.unit_id, path, roles=frozenset(who.roles))
    granted = frozenset(who.scopes) & frozenset(str(claims.get("scope", "")).split())
    return Principal("client", who.id, who.name, who.unit_id, path, scopes=granted)
