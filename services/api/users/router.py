"""People and system-client endpoints."""

from typing import Annotated
from uuid import UUID

from fastapi import Request, Response, status

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.pagination import Page, PageDep
from services.api.preconditions import IfMatch
from services.api.records import UserDep
from services.api.routing import SessionDep, router
from services.api.users import service
from services.api.users.schemas import (
    ClientCreate,
    ClientPublic,
    ClientWithSecret,
    OneTimePassword,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from services.api.validation import also_checked

people = router(tags=["people"])
UserReader = Annotated[Principal, authorize(Action.USERS_READ)]
UserWriter = Annotated[Principal, authorize(Action.USERS_WRITE)]
ClientWriter = Annotated[Principal, authorize(Action.CLIENTS_WRITE)]


@people.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
@also_checked(UserCreate, service.create_checks)
async def create_user(
    data: UserCreate, request: Request, session: SessionDep, principal: UserWriter
) -> UserPublic:
    """Add a person to a unit in your subtree, with where notices reach them (`email`, `mobile`)
    and who they are in their unit (`duties`)."""
    box = request.app.state.phones
    user = await service.create_user(session, data=data, principal=principal, box=box)
    return service.to_public(user, box, principal)


@people.get("/users", response_model=Page[UserPublic])
async def list_users(
    request: Request, session: SessionDep, principal: UserReader, page: PageDep
) -> Page[UserPublic]:
    """People in units of your subtree."""
    rows, count = await service.list_users(session, principal=principal, page=page)
    return Page(data=[service.to_public(u, request.app.state.phones, principal) for u in rows], count=count)


@people.get("/users/{user_id:uuid}", response_model=UserPublic)
async def get_user(request: Request, principal: UserReader, user: UserDep) -> UserPublic:
    """One person (404 outside your subtree)."""
    return service.to_public(user, request.app.state.phones, principal)


@people.patch("/users/{user_id:uuid}", response_model=UserPublic)
@also_checked(UserUpdate, service.create_checks, partial=True)
async def update_user(
    data: UserUpdate,
    version: IfMatch,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: UserWriter,
    user: UserDep,
) -> UserPublic:
    """Change a person's name, unit, roles, `is_active`, `email`, `mobile` or `duties` (an admin
    of their subtree; audited; `If-Match: <version>`).
    Deactivated, their tokens are refused on their next request; nobody deactivates or re-roles
    themselves."""
    box = request.app.state.phones
    changed = await service.update_user(
        session, user=user, data=data, version=version, principal=principal, box=box
    )
    response.headers["ETag"] = f'"{changed.version}"'
    return service.to_public(changed, box, principal)


@people.post("/users/{user_id:uuid}/reset-password", response_model=OneTimePassword)
async def reset_password(session: SessionDep, principal: UserWriter, user: UserDep) -> OneTimePassword:
    """A one-time password for a person who forgot theirs (an admin of their subtree; audited):
    their tokens stop working, and after signing in with it they can only change it
    (`POST /auth/password`)."""
    return OneTimePassword(
        one_time_password=await service.reset_password(session, user=user, principal=principal)
    )


@people.post("/clients", status_code=status.HTTP_201_CREATED, response_model=ClientWithSecret)
async def create_client(data: ClientCreate, session: SessionDep, principal: ClientWriter) -> ClientWithSecret:
    """Register another government system; its secret is shown once."""
    client, secret = await service.create_client(session, data=data, principal=principal)
    return ClientWithSecret.model_validate({**client.model_dump(), "client_secret": secret})


@people.get("/clients", response_model=Page[ClientPublic])
async def list_clients(session: SessionDep, principal: ClientWriter, page: PageDep) -> Page[ClientPublic]:
    """System clients of units in your subtree (never their secrets)."""
    rows, count = await service.list_clients(session, principal=principal, page=page)
    return Page(data=[ClientPublic.model_validate(c, from_attributes=True) for c in rows], count=count)


@people.post("/clients/{client_id:uuid}/rotate-secret", response_model=ClientWithSecret)
async def rotate_secret(client_id: UUID, session: SessionDep, principal: ClientWriter) -> ClientWithSecret:
    """Issue a new secret; the old one stops working at once."""
    client, secret = await service.rotate_secret(session, client_id=client_id, principal=principal)
    return ClientWithSecret.model_validate({**client.model_dump(), "client_secret": secret})
