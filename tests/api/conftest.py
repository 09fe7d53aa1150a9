"""A small world of units and principals, inside the test's rolled-back transaction.

P  Henan province office            Q  Hebei province office (another tree)
└─ C  Luoyang city                  └─ QC  a Hebei county
   ├─ A  Luanchuan county
   │  └─ D  county transport department
   └─ B  Yichuan county
"""

import uuid
from dataclasses import dataclass, field

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.auth.passwords import hash_secret
from services.api.auth.principal import issue_token
from shared.models import ApiClient, AppUser, Unit
from shared.settings import ApiSettings

PASSWORD = "Luanchuan2018"


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_secret(PASSWORD)  # argon2 is slow on purpose: hash once


@dataclass
class World:
    units: dict[str, Unit] = field(default_factory=dict)
    users: dict[str, AppUser] = field(default_factory=dict)
    clients: dict[str, ApiClient] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who in self.tokens else {}


# principal name → (home unit, roles)
PEOPLE = {
    "p_admin": ("P", ["office_admin"]),
    "p_staff": ("P", ["office_staff"]),
    "p_auditor": ("P", ["auditor"]),
    "a_reporter": ("A", ["reporter"]),
    "a_leader": ("A", ["leader"]),
    "a_inspector": ("A", ["inspector"]),
    "b_admin": ("B", ["office_admin"]),
    "q_admin": ("Q", ["office_admin"]),
}


@pytest.fixture
async def world(session: AsyncSession, api_settings: ApiSettings, password_hash: str) -> World:
    w = World()
    tree = [
        ("P", None, "office"),
        ("C", "P", "government"),
        ("A", "C", "government"),
        ("D", "A", "department"),
        ("B", "C", "government"),
        ("Q", None, "office"),
        ("QC", "Q", "government"),
    ]
    suffix = uuid.uuid4().hex[:6]
    for code, parent, kind in tree:
        uid = uuid.uuid4()
        path = (w.units[parent].path if parent else "/") + f"{uid}/"
        parent_id = w.units[parent].id if parent else None
        w.units[code] = Unit(
            id=uid, code=f"{code}-{suffix}", name=code, kind=kind, parent_id=parent_id, path=path
        )
        session.add(w.units[code])
        await session.flush()
    for name, (home, roles) in PEOPLE.items():
        user = AppUser(
            username=f"{name}-{suffix}",
            display_name=name,
            password_hash=password_hash,
            unit_id=w.units[home].id,
            roles=roles,
        )
        session.add(user)
        w.users[name] = user
    for home in ("A", "B", "Q"):
        client = ApiClient(
            client_id=f"cli_{home}_{suffix}",
            name=f"bank of {home}",
            secret_hash=password_hash,
            unit_id=w.units[home].id,
            scopes=["units:read"],
        )
        session.add(client)
        w.clients[home] = client
    await session.commit()
    for name, user in w.users.items():
        w.tokens[name], _ = issue_token(api_settings, subject=f"user:{user.id}", extra={})
    w.tokens["a_client"], _ = issue_token(
        api_settings, subject=f"client:{w.clients['A'].id}", extra={"scope": "units:read"}
    )
    return w


@pytest.fixture
def operator(client: AsyncClient, world: World) -> AsyncClient:
    """The api client, signed in as the province office's admin."""
    client.headers.update(world.auth("p_admin"))
    return client
