"""Units: the office tree that decides who sees what."""

import uuid
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy import update as sql_update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.auth.permissions import sees_personal_data
from services.api.auth.principal import Principal
from services.api.auth.scope import get_visible, visible
from services.api.pagination import PageParams, matches, paginate
from services.api.preconditions import check_version
from services.api.units.phone import PhoneBox, mask
from services.api.units.schemas import LiaisonChangePublic, LiaisonPublic, UnitCreate, UnitPublic, UnitUpdate
from shared import audit, clock
from shared.errors import Conflict, field_error
from shared.i18n import N_, tr
from shared.models import LiaisonChange, Unit


def _phone_for(principal: Principal | None, phone: str | None) -> str | None:
    if phone is None:
        return None
    return phone if principal is not None and sees_personal_data(principal) else mask(phone)


def to_public(unit: Unit, box: PhoneBox, principal: Principal | None) -> UnitPublic:
    liaison = None
    if unit.liaison_name or unit.liaison_phone_encrypted:
        phone = box.open(unit.liaison_phone_encrypted)
        liaison = LiaisonPublic(name=unit.liaison_name, phone=_phone_for(principal, phone))
    return UnitPublic.model_validate({**unit.model_dump(), "liaison": liaison})


def _audit_view(unit: Unit, box: PhoneBox) -> dict[str, Any]:
    """The unit as the audit log keeps it: phones masked, never in clear."""
    return to_public(unit, box, None).model_dump(mode="json", exclude={"created_at", "updated_at"})


async def _parent(session: AsyncSession, parent_id: uuid.UUID, principal: Principal | None) -> Unit:
    stmt = select(Unit).where(col(Unit.id) == parent_id)
    found = await session.scalar(visible(stmt, Unit, principal) if principal else stmt)
    if found is None:
        raise field_error("parent_id", tr("there is no unit {id} that you can see", id=parent_id))
    return found


async def create_checks(
    session: AsyncSession, principal: Principal, fields: dict[str, Any], path: dict[str, Any] | None = None
) -> list[tuple[list[str | int], str]]:
    """A new unit's parent the caller cannot see, for a body whose other fields failed the
    schema (services/api/validation.py)."""
    parent_id = fields.get("parent_id")
    if parent_id is None:
        return []
    stmt = select(col(Unit.id)).where(col(Unit.id) == parent_id)
    if await session.scalar(visible(stmt, Unit, principal)) is None:
        return [(["parent_id"], tr("there is no unit {id} that you can see", id=parent_id))]
    return []


async def _ensure_code_free(session: AsyncSession, code: str) -> None:
    if await session.scalar(select(col(Unit.id)).where(col(Unit.code) == code)):
        raise Conflict(tr("A unit with code '{code}' already exists; codes must be unique.", code=code))


async def _ensure_region_free(
    session: AsyncSession, region: str | None, unit_id: uuid.UUID | None = None
) -> None:
    """One unit per region code: the region's own government or office, not each of its bureaus."""
    if region is None:
        return
    holder = await session.scalar(
        select(col(Unit.name)).where(col(Unit.region_code) == region, col(Unit.id) != unit_id)
    )
    if holder is not None:
        said = tr(
            "Region code {region} is already {unit}'s: one unit per region code.", region=region, unit=holder
        )
        raise Conflict(said)


def _record_liaison(session: AsyncSession, unit: Unit, actor: audit.Actor) -> None:
    session.add(
        LiaisonChange(
            unit_id=unit.id,
            liaison_name=unit.liaison_name,
            liaison_phone_encrypted=unit.liaison_phone_encrypted,
            changed_by=f"{actor.kind}:{actor.id}",
        )
    )


async def create(
    session: AsyncSession, *, data: UnitCreate, principal: Principal | None, box: PhoneBox
) -> Unit:
    """Add a unit under a visible parent, by default the caller's own unit.

    Only `duban bootstrap` makes a root, with no principal.
    """
    parent_id = data.parent_id or (principal.unit_id if principal else None)
    await _ensure_code_free(session, data.code)
    await _ensure_region_free(session, data.region_code)
    unit_id = uuid.uuid4()
    prefix = (await _parent(session, parent_id, principal)).path if parent_id else "/"
    unit = Unit(
        id=unit_id,
        code=data.code,
        name=data.name,
        kind=data.kind,
        parent_id=parent_id,
        path=f"{prefix}{unit_id}/",
        region_code=data.region_code,
        liaison_name=data.liaison.name if data.liaison else None,
        liaison_phone_encrypted=box.seal(data.liaison.phone) if data.liaison else None,
    )
    session.add(unit)
    await session.flush()
    actor = principal.actor if principal else audit.SYSTEM
    if data.liaison:
        _record_liaison(session, unit, actor)
    await audit.record(
        session,
        actor=actor,
        action="unit.create",
        entity="unit",
        entity_id=unit.id,
        unit_id=unit.id,
        after=_audit_view(unit, box),
    )
    return unit


async def update(
    session: AsyncSession,
    *,
    unit_id: uuid.UUID,
    data: UnitUpdate,
    version: int,
    principal: Principal,
    box: PhoneBox,
) -> Unit:
    """Change the fields sent; moving a unit moves its whole subtree."""
    unit = await get_visible(session, Unit, unit_id, principal, N_("unit"))
    check_version(unit.version, version, N_("unit"))
    before = _audit_view(unit, box)
    sent = data.model_fields_set
    if "name" in sent and data.name is not None:
        unit.name = data.name
    if "kind" in sent and data.kind is not None:
        unit.kind = data.kind
    if "region_code" in sent:
        await _ensure_region_free(session, data.region_code, unit.id)
        unit.region_code = data.region_code
    if "parent_id" in sent and data.parent_id != unit.parent_id:
        if data.parent_id is None:
            raise field_error("parent_id", tr("a unit cannot be made a root through the API"))
        parent = await _parent(session, data.parent_id, principal)
        if parent.path.startswith(unit.path):
            raise field_error("parent_id", tr("a unit cannot move under itself or one of its own sub-units"))

        old, new = unit.path, f"{parent.path}{unit.id}/"
        await session.execute(
            sql_update(Unit)
            .where(col(Unit.path).startswith(old, autoescape=True))
            .values(path=literal(new) + func.substr(col(Unit.path), len(old) + 1))
            .execution_options(synchronize_session=False)
        )
        unit.parent_id, unit.path = parent.id, new
    if "liaison" in sent:
        name = data.liaison.name if data.liaison else None
        phone = data.liaison.phone if data.liaison else None
        if name != unit.liaison_name or phone != box.open(unit.liaison_phone_encrypted):
            unit.liaison_name, unit.liaison_phone_encrypted = name, box.seal(phone)
            _record_liaison(session, unit, principal.actor)
    unit.version += 1
    unit.updated_at = clock.now()
    await session.flush()
    await audit.record(
        session,
        actor=principal.actor,
        action="unit.update",
        entity="unit",
        entity_id=unit.id,
        unit_id=unit.id,
        before=before,
        after=_audit_view(unit, box),
    )
    return unit


async def list_units(
    session: AsyncSession,
    *,
    principal: Principal,
    page: PageParams,
    kind: str | None = None,
    parent_id: uuid.UUID | None = None,
    q: str | None = None,
) -> tuple[list[Unit], int]:
    stmt = visible(select(Unit), Unit, principal)
    if kind:
        stmt = stmt.where(col(Unit.kind) == kind)
    if parent_id:
        stmt = stmt.where(col(Unit.parent_id) == parent_id)
    if q:
        stmt = stmt.where(matches(q, col(Unit.name), col(Unit.code)))
    return await paginate(session, stmt, page, col(Unit.path))


async def liaison_history(
    session: AsyncSession, *, unit: Unit, principal: Principal, box: PhoneBox, page: PageParams
) -> tuple[list[LiaisonChangePublic], int]:
    """The unit's liaisons, oldest first, phones masked unless the principal may see them."""
    stmt = select(LiaisonChange).where(col(LiaisonChange.unit_id) == unit.id)
    rows, count = await paginate(session, stmt, page, col(LiaisonChange.changed_at))
    return [
        LiaisonChangePublic(
            name=r.liaison_name,
            phone=_phone_for(principal, box.open(r.liaison_phone_encrypted)),
            changed_by=r.changed_by,
            changed_at=r.changed_at,
        )
        for r in rows
    ], count
