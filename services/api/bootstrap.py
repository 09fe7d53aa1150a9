"""`duban bootstrap`: the top office and its first admin, once."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from services.api.units import service as units
from services.api.units.phone import PhoneBox
from services.api.units.schemas import UnitCreate
from services.api.users import service as users
from services.api.users.schemas import UserCreate
from shared.errors import Conflict
from shared.i18n import tr
from shared.models import AppUser, Unit


@dataclass
class Outcome:
    office_created: bool
    admin_created: bool


async def bootstrap(
    session: AsyncSession, *, office_code: str, office_name: str, username: str, password: str, box: PhoneBox
) -> Outcome:
    """Create what is missing; running it again changes nothing."""
    office = await session.scalar(select(Unit).where(col(Unit.code) == office_code))
    office_created = office is None
    if office is None:
        office = await units.create(
            session,
            data=UnitCreate(code=office_code, name=office_name, kind="office"),
            principal=None,
            box=box,
        )
    elif office.parent_id is not None or office.kind != "office":
        raise Conflict(tr("Unit '{code}' exists but is not a top-level office.", code=office_code))
    admin = await session.scalar(select(AppUser).where(col(AppUser.username) == username.lower()))
    if admin is not None:
        if admin.unit_id != office.id or "office_admin" not in admin.roles:
            raise Conflict(
                tr(
                    "User '{username}' exists but is not an office admin of '{code}'.",
                    username=username,
                    code=office_code,
                )
            )

        return Outcome(office_created, False)
    await users.create_user(
        session,
        data=UserCreate(
            username=username,
            password=password,
            display_name=username,
            unit_id=office.id,
            roles=["office_admin"],
        ),
        principal=None,
        box=box,
    )
    return Outcome(office_created, True)
