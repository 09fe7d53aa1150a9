"""Creating people and system clients inside the caller's subtree."""

import secrets
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.passwords import hash_secret, new_secret, password_problems, verify_secret
from services.api.auth.principal import Principal
from services.api.auth.scope import get_visible, visible
from services.api.pagination import PageParams, paginate
from services.api.preconditions import check_version
from services.api.units.phone import mask
from services.api.users.schemas import ClientCreate, PasswordChange, UserCreate, UserPublic, UserUpdate
from shared import audit, clock
from shared.audit import Actor
from shared.crypto import SecretBox
from shared.errors import Conflict, Forbidden, invalid
from shared.i18n import N_, listing, tr
from shared.models import ApiClient, AppUser, Unit


async def _unit_problems(
    session: AsyncSession, unit_id: Any, principal: Principal | None
) -> list[tuple[list[str | int], str]]:
    """A unit the caller cannot see (with no principal, `duban bootstrap`: one that does not exist)."""
    stmt = select(col(Unit.id)).where(col(Unit.id) == unit_id)
    if await session.scalar(visible(stmt, Unit, principal) if principal else stmt) is None:
        return [(["unit_id"], tr("there is no unit {id} that you can see", id=unit_id))]
    return []


async def _unit(session: AsyncSession, unit_id: uuid.UUID, principal: Principal | None) -> None:
    if problems := await _unit_problems(session, unit_id, principal):
        raise invalid(problems)


def to_public(user: AppUser, box: SecretBox, principal: Principal | None) -> UserPublic:
    """The person as the caller sees them: their mobile masked unless the caller is them."""
    mobile = box.open(user.mobile_encrypted) if user.mobile_encrypted else None
    if mobile and (principal is None or principal.id != user.id):
        mobile = mask(mobile)
    return UserPublic.model_validate({**user.model_dump(), "mobile": mobile})


def _user_view(user: AppUser, box: SecretBox) -> dict[str, object]:
    """The person as the audit log keeps them: the mobile masked, never in clear."""
    return to_public(user, box, None).model_dump(mode="json", exclude={"created_at"})


async def create_checks(
    session: AsyncSession,
    principal: Principal | None,
    fields: dict[str, Any],
    path: dict[str, Any] | None = None,
) -> list[tuple[list[str | int], str]]:
    """Every fault of a new user the schema cannot see, over the fields given: a unit the
    caller cannot see, a password the rules refuse (services/api/validation.py runs this on the
    fields that passed when others did not)."""
    unit_id = fields.get("unit_id")
    problems = [] if unit_id is None else await _unit_problems(session, unit_id, principal)
    if (password := fields.get("password")) is not None:
        if refused := password_problems(password, username=fields.get("username") or ""):
            problems.append((["password"], listing(refused)))
    return problems


async def create_user(
    session: AsyncSession, *, data: UserCreate, principal: Principal | None, box: SecretBox
) -> AppUser:
    """A person in a unit of the caller's subtree (with no principal: `duban bootstrap`)."""
    if problems := await create_checks(session, principal, data.model_dump()):
        raise invalid(problems)
    if await session.scalar(select(col(AppUser.id)).where(col(AppUser.username) == data.username)):
        raise Conflict(tr("The username '{username}' is taken; choose another.", username=data.username))
    user = AppUser(
        username=data.username,
        display_name=data.display_name,
        password_hash=hash_secret(data.password),
        unit_id=data.unit_id,
        roles=list(data.roles),
        email=data.email,
        mobile_encrypted=box.seal(data.mobile) if data.mobile else None,
        duties=[str(d) for d in data.duties],
    )
    session.add(user)
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor if principal else audit.SYSTEM,
        action="user.create",
        entity="user",
        entity_id=user.id,
        unit_id=user.unit_id,
        after=_user_view(user, box),
    )
    return user


async def update_user(
    session: AsyncSession,
    *,
    user: AppUser,
    data: UserUpdate,
    version: int,
    principal: Principal,
    box: SecretBox,
) -> AppUser:
    """Change a person's name, unit, roles or whether they may sign in (an admin of their
    subtree; audited). A deactivated person's tokens are refused from now; a moved or re-roled
    person's next request acts with what they are now."""
    if user.id == principal.id and (data.is_active is False or data.roles is not None):
        raise Conflict(tr("You cannot deactivate yourself or change your own roles; ask another admin."))
    check_version(user.version, version, N_("user"))
    before = _user_view(user, box)
    sent = data.model_dump(exclude_unset=True)
    if sent.get("unit_id") is not None:
        await _unit(session, sent["unit_id"], principal)
    for name in ("display_name", "unit_id", "is_active"):
        if sent.get(name) is not None:
            setattr(user, name, sent[name])
    if sent.get("roles") is not None:
        user.roles = [str(r) for r in sent["roles"]]
    if "email" in sent:
        user.email = sent["email"]
    if "mobile" in sent:
        user.mobile_encrypted = box.seal(sent["mobile"]) if sent["mobile"] else None
    if sent.get("duties") is not None:
        user.duties = [str(d) for d in sent["duties"]]
    if data.is_active is False:
        user.tokens_valid_after = clock.now()
    user.version += 1
    await session.flush()
    await audit.record(
        session, actor=principal.actor, action="user.update", entity="user", entity_id=user.id,
        unit_id=user.unit_id, before=before, after=_user_view(user, box),
    )  # fmt: skip
    return user


async def reset_password(session: AsyncSession, *, user: AppUser, principal: Principal) -> str:
    """A one-time password for a person who forgot theirs (an admin of their subtree; audited):
    their tokens are refused from now, and they change it at their first sign-in."""
    once = f"{secrets.token_urlsafe(9)}7a"  # letters and digits, as any password here
    user.password_hash = hash_secret(once)
    user.must_change_password = True
    user.tokens_valid_after = clock.now()
    await session.flush()
    await audit.record(
        session, actor=principal.actor, action="user.reset_password", entity="user", entity_id=user.id,
        unit_id=user.unit_id, after={"must_change_password": True},
    )  # fmt: skip
    return once


def _password_change_problems(user: AppUser, fields: dict[str, Any]) -> list[tuple[list[str | int], str]]:
    """A password change's faults the schema cannot see: a current password that is not, a new
    one the rules refuse or the same as the current."""
    faults: list[tuple[list[str | int], str]] = []
    current, new = fields.get("current_password"), fields.get("new_password")
    if current is not None and not verify_secret(current, user.password_hash):
        faults.append((["current_password"], tr("this is not your current password")))
    if new is not None:
        problems = password_problems(new, username=user.username)
        if new == current:
            problems.append(tr("choose a password other than the current one"))
        if problems:
            faults.append((["new_password"], listing(problems)))
    return faults


async def password_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any] | None = None
) -> list[tuple[list[str | int], str]]:
    """`_password_change_problems` for a change whose other field failed the schema."""
    user = await session.get(AppUser, principal.id) if principal.kind == "user" else None
    return [] if user is None else _password_change_problems(user, fields)


async def change_password(session: AsyncSession, *, principal: Principal, data: PasswordChange) -> AppUser:
    """A person changes their own password (audited); their other tokens are refused from now."""
    user = await session.get(AppUser, principal.id) if principal.kind == "user" else None
    if user is None:
        raise Forbidden(tr("Only a person changes a password; a system client rotates its secret."))
    if faults := _password_change_problems(user, dict(data)):
        raise invalid(faults)
    user.password_hash = hash_secret(data.new_password)
    user.must_change_password = False
    user.tokens_valid_after = clock.now()
    await session.flush()
    await audit.record(
        session, actor=principal.actor, action="user.change_password", entity="user", entity_id=user.id,
        unit_id=user.unit_id, after={"must_change_password": False},
    )  # fmt: skip
    return user


def _client_view(client: ApiClient) -> dict[str, object]:
    return client.model_dump(mode="json", exclude={"secret_hash", "created_at", "rotated_at"})


async def create_client(
    session: AsyncSession, *, data: ClientCreate, principal: Principal
) -> tuple[ApiClient, str]:
    """A system client and its secret (returned once)."""
    await _unit(session, data.unit_id, principal)
    secret = new_secret()
    client = ApiClient(
        client_id=f"cli_{secrets.token_hex(12)}",
        name=data.name,
        secret_hash=hash_secret(secret),
        unit_id=data.unit_id,
        scopes=list(data.scopes),
    )
    session.add(client)
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor,
        action="client.create",
        entity="client",
        entity_id=client.id,
        unit_id=client.unit_id,
        after=_client_view(client),
    )
    return client, secret


async def rotate_secret(
    session: AsyncSession, *, client_id: uuid.UUID, principal: Principal
) -> tuple[ApiClient, str]:
    """A new secret; the old one stops working at once."""
    client = await get_visible(session, ApiClient, client_id, principal, N_("client"))
    secret = new_secret()
    client.secret_hash = hash_secret(secret)
    client.rotated_at = clock.now()
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor,
        action="client.rotate-secret",
        entity="client",
        entity_id=client.id,
        unit_id=client.unit_id,
        after=_client_view(client),
    )
    return client, secret


__all__ = ["Actor", "create_client", "create_user", "rotate_secret"]


async def list_users(
    session: AsyncSession, *, principal: Principal, page: PageParams
) -> tuple[list[AppUser], int]:
    """People in units of the principal's subtree, by username."""
    return await paginate(session, visible(select(AppUser), AppUser, principal), page, col(AppUser.username))


async def list_clients(
    session: AsyncSession, *, principal: Principal, page: PageParams
) -> tuple[list[ApiClient], int]:
    """System clients of units in the principal's subtree, by name."""
    return await paginate(
        session, visible(select(ApiClient), ApiClient, principal), page, col(ApiClient.name)
    )


async def user_by_username(session: AsyncSession, username: str) -> AppUser | None:
    """The account signing in with `username` (usernames are kept in lower case)."""
    return await session.scalar(select(AppUser).where(col(AppUser.username) == username.lower()))


async def client_by_client_id(session: AsyncSession, client_id: str) -> ApiClient | None:
    return await session.scalar(select(ApiClient).where(col(ApiClient.client_id) == client_id))
