"""Creating people and system clients inside the caller's subtree."""

import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.passwords import hash_secret, new_secret, password_problems
from services.api.auth.principal import Principal
from services.api.auth.scope import get_visible, visible
from services.api.pagination import PageParams, paginate
from services.api.users.schemas import ClientCreate, UserCreate
from shared import audit, clock
from shared.audit import Actor
from shared.errors import Conflict, field_error
from shared.i18n import N_, listing, tr
from shared.models import ApiClient, AppUser, Unit


async def _unit(session: AsyncSession, unit_id: uuid.UUID, principal: Principal | None) -> Unit:
    stmt = select(Unit).where(col(Unit.id) == unit_id)
    found = await session.scalar(visible(stmt, Unit, principal) if principal else stmt)
    if found is None:
        raise field_error("unit_id", tr("there is no unit {id} that you can see", id=unit_id))
    return found


def _user_view(user: AppUser) -> dict[str, object]:
    return user.model_dump(mode="json", exclude={"password_hash", "created_at"})


async def create_user(session: AsyncSession, *, data: UserCreate, principal: Principal | None) -> AppUser:
    """A person in a unit of the caller's subtree (with no principal: `duban bootstrap`)."""
    await _unit(session, data.unit_id, principal)
    problems = password_problems(data.password, username=data.username)
    if problems:
        raise field_error("password", listing(problems))
    if await session.scalar(select(col(AppUser.id)).where(col(AppUser.username) == data.username)):
        raise Conflict(tr("The username '{username}' is taken; choose another.", username=data.username))
    user = AppUser(
        username=data.username,
        display_name=data.display_name,
        password_hash=hash_secret(data.password),
        unit_id=data.unit_id,
        roles=list(data.roles),
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
        after=_user_view(user),
    )
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
