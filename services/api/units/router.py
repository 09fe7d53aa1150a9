"""Unit endpoints."""

from typing import Annotated
from uuid import UUID

from fastapi import Query, Request, Response, status

from services.api.auth.permissions import Action, authorize
from services.api.auth.principal import Principal
from services.api.pagination import Page, PageDep
from services.api.preconditions import IfMatch
from services.api.records import UnitDep
from services.api.routing import SessionDep, router
from services.api.units import service
from services.api.units.schemas import LiaisonChangePublic, UnitCreate, UnitPublic, UnitUpdate
from services.api.validation import also_checked
from shared.models import Unit
from shared.vocabulary import UnitKind

units = router(prefix="/units", tags=["units"])
Reader = Annotated[Principal, authorize(Action.UNITS_READ)]
Writer = Annotated[Principal, authorize(Action.UNITS_WRITE)]


def _etag(response: Response, unit: Unit) -> None:
    response.headers["ETag"] = f'"{unit.version}"'


@units.post("", status_code=status.HTTP_201_CREATED, response_model=UnitPublic)
@also_checked(UnitCreate, service.create_checks)
async def create_unit(
    data: UnitCreate, request: Request, response: Response, session: SessionDep, principal: Writer
) -> UnitPublic:
    """Add a unit (department, county government, owner, bank…) under one you manage."""
    box = request.app.state.phones
    unit = await service.create(session, data=data, principal=principal, box=box)
    _etag(response, unit)
    response.headers["Location"] = f"{request.url.path}/{unit.id}"
    return service.to_public(unit, box, principal)


@units.get("", response_model=Page[UnitPublic])
async def list_units(
    request: Request,
    session: SessionDep,
    principal: Reader,
    page: PageDep,
    kind: UnitKind | None = None,
    parent_id: UUID | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Part of the name or code")] = None,
) -> Page[UnitPublic]:
    """Units in your subtree, in tree order."""
    rows, count = await service.list_units(
        session, principal=principal, page=page, kind=kind, parent_id=parent_id, q=q
    )
    box = request.app.state.phones
    return Page(data=[service.to_public(u, box, principal) for u in rows], count=count)


@units.get("/{unit_id:uuid}", response_model=UnitPublic)
async def get_unit(request: Request, response: Response, principal: Reader, unit: UnitDep) -> UnitPublic:
    """One unit (404 when it is outside your subtree)."""
    _etag(response, unit)
    return service.to_public(unit, request.app.state.phones, principal)


@units.patch("/{unit_id:uuid}", response_model=UnitPublic)
@also_checked(UnitUpdate, service.create_checks, partial=True)
async def update_unit(
    unit_id: UUID,
    data: UnitUpdate,
    version: IfMatch,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Writer,
) -> UnitPublic:
    """Change a unit; needs `If-Match: <version>` (412 when someone changed it meanwhile)."""
    box = request.app.state.phones
    unit = await service.update(
        session, unit_id=unit_id, data=data, version=version, principal=principal, box=box
    )
    _etag(response, unit)
    return service.to_public(unit, box, principal)


@units.get("/{unit_id:uuid}/liaison-history", response_model=Page[LiaisonChangePublic])
async def liaison_history(
    request: Request, session: SessionDep, principal: Reader, unit: UnitDep, page: PageDep
) -> Page[LiaisonChangePublic]:
    """Every liaison the unit has named, oldest first."""
    rows, count = await service.liaison_history(
        session, unit=unit, principal=principal, box=request.app.state.phones, page=page
    )
    return Page(data=rows, count=count)
