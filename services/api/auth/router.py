"""Sign-in (OAuth2 password and client-credentials grants) and the current principal."""

from typing import Annotated, Literal

from fastapi import Depends, Form, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.auth import throttle
from services.api.auth.passwords import verify_secret
from services.api.auth.permissions import current_principal
from services.api.auth.principal import Principal, issue_token
from services.api.routing import SessionDep, router
from services.api.users import service as users
from services.api.users.schemas import PasswordChange
from services.api.validation import also_checked
from shared.errors import DomainError, Unauthorized, ValidationFailed
from shared.i18n import located, tr
from shared.models import AppUser
from shared.vocabulary import PrincipalKind

auth = router(tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    scope: str | None = None


class Me(BaseModel):
    kind: PrincipalKind
    id: str
    name: str
    unit_id: str
    roles: list[str]
    scopes: list[str]
    must_change_password: bool = False
    email: str | None = None
    mobile: str | None = Field(default=None, description="in clear: it is the caller's own")
    duties: list[str] = Field(default_factory=list)


def _wrong_credentials(said: str) -> Unauthorized:
    return Unauthorized(said, headers={"WWW-Authenticate": "Bearer"})


async def sign_in(request: Request, session: AsyncSession, username: str, password: str) -> tuple[str, int]:
    """A person's password for an access token (and its lifetime), throttled per name and
    address: the token endpoint and the office pages' sign-in both come here."""
    settings, redis = request.app.state.settings, request.app.state.redis
    address = request.client.host if request.client else "unknown"  # behind a proxy: X-Forwarded-For
    await throttle.check(redis, settings, f"user:{username}", address)
    user = await users.user_by_username(session, username)
    if not verify_secret(password, user.password_hash if user else None) or not user or not user.is_active:
        await throttle.failed(redis, settings, f"user:{username}", address)
        raise _wrong_credentials(tr("Wrong username or password."))
    await throttle.succeeded(redis, settings, f"user:{username}", address)
    return issue_token(settings, subject=f"user:{user.id}", extra={"roles": user.roles})


@auth.post("/auth/token", response_model=Token)
async def token(
    request: Request,
    session: SessionDep,
    grant_type: Annotated[
        str,
        # declared as the two it takes; another is answered 400 unsupported_grant_type-style, in words
        Form(min_length=1, json_schema_extra={"enum": ["password", "client_credentials"]}),
    ],
    username: Annotated[str | None, Form()] = None,
    password: Annotated[str | None, Form()] = None,
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    scope: Annotated[str, Form()] = "",
) -> Token:
    """Exchange a password (people) or client credentials (systems) for a bearer token."""
    settings, redis = request.app.state.settings, request.app.state.redis
    address = request.client.host if request.client else "unknown"  # behind a proxy: X-Forwarded-For
    if grant_type == "password":
        if not username or not password:
            raise ValidationFailed(tr("The password grant needs 'username' and 'password'."))
        access, lifetime = await sign_in(request, session, username, password)
        return Token(access_token=access, expires_in=lifetime)
    if grant_type == "client_credentials":
        if not client_id or not client_secret:
            raise ValidationFailed(tr("The client_credentials grant needs 'client_id' and 'client_secret'."))
        await throttle.check(redis, settings, f"client:{client_id}", address)
        client = await users.client_by_client_id(session, client_id)
        if (
            not verify_secret(client_secret, client.secret_hash if client else None)
            or not client
            or not client.is_active
        ):
            await throttle.failed(redis, settings, f"client:{client_id}", address)
            raise _wrong_credentials(tr("Wrong client_id or client_secret."))
        await throttle.succeeded(redis, settings, f"client:{client_id}", address)
        asked = set(scope.split()) if scope.strip() else set(client.scopes)
        if not asked <= set(client.scopes):
            raise ValidationFailed(
                tr(
                    "This client may not ask for: {scopes}.",
                    scopes=", ".join(sorted(asked - set(client.scopes))),
                ),
                errors=[
                    {
                        "loc": ["body", "scope"],
                        "msg": located(["scope"], tr("scope not granted to this client")),
                    }
                ],
            )
        granted = " ".join(sorted(asked))
        access, lifetime = issue_token(settings, subject=f"client:{client.id}", extra={"scope": granted})
        return Token(access_token=access, expires_in=lifetime, scope=granted)
    raise DomainError(
        tr(
            "Unsupported grant_type '{grant_type}': use 'password' or 'client_credentials'.",
            grant_type=grant_type,
        )
    )


@auth.post("/auth/password", response_model=Token)
@also_checked(PasswordChange, users.password_checks)
async def change_password(
    data: PasswordChange,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(current_principal)],
) -> Token:
    """Change your own password (a one-time one first of all): your other tokens stop working,
    and the answer is a new token to go on with."""
    user = await users.change_password(session, principal=principal, data=data)
    access, lifetime = issue_token(
        request.app.state.settings, subject=f"user:{user.id}", extra={"roles": user.roles}
    )
    return Token(access_token=access, expires_in=lifetime)


@auth.get("/me", response_model=Me)
async def me(
    request: Request, session: SessionDep, principal: Annotated[Principal, Depends(current_principal)]
) -> Me:
    """Who the token acts for: its unit, roles and scopes; a person's own e-mail, mobile and
    duties (where notices reach them)."""
    contact: dict[str, object] = {}
    if principal.kind == PrincipalKind.USER and (user := await session.get(AppUser, principal.id)):
        shown = users.to_public(user, request.app.state.phones, principal)
        contact = {"email": shown.email, "mobile": shown.mobile, "duties": [str(d) for d in shown.duties]}
    return Me(
        **contact,
        kind=PrincipalKind(principal.kind),
        id=str(principal.id),
        name=principal.name,
        unit_id=str(principal.unit_id),
        roles=sorted(principal.roles),
        scopes=sorted(principal.scopes),
        must_change_password=principal.must_change_password,
    )
