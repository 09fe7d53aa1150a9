"""A dependency that goes away is a 503 with Retry-After, never a 500, and the api recovers
without a restart. Real faults: a Redis server of the test's own stopped and started again, and
the api's database connections terminated by the server."""

import uuid

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.auth.principal import issue_token
from shared.db import create_engine, plain_url, session_factory
from shared.models import AppUser, Unit
from shared.settings import ApiSettings
from tests.faults.conftest import PrivateRedis, redis_ready
from tests.helpers import running
from tests.world import PASSWORD, World


async def test_sign_in_is_503_while_redis_is_down_and_works_again_after(
    api_settings: ApiSettings,
    private_redis: PrivateRedis,
    world: World,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Sign-in needs Redis (the throttle counts failures there): with Redis down it fails closed,
    503 with Retry-After naming Redis, and signs in again once Redis is back."""
    await redis_ready(private_redis.port)
    settings = api_settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{private_redis.port}/0"})
    grant = {"grant_type": "password", "username": world.users["a_reporter"].username, "password": PASSWORD}
    async with running(settings, sessions) as client:
        assert (await client.post("/api/v1/auth/token", data=grant)).status_code == 200
        private_redis.stop()
        down = await client.post("/api/v1/auth/token", data=grant)
        assert down.status_code == 503, down.text
        assert down.headers["Retry-After"] == "5" and "Redis" in down.json()["detail"]
        assert down.headers["content-type"] == "application/problem+json"
        private_redis.start()
        await redis_ready(private_redis.port)
        assert (await client.post("/api/v1/auth/token", data=grant)).status_code == 200


async def _cut(settings: ApiSettings, prefix: str) -> int:
    """Terminate the api's connections, as a failover or an admin's pg_terminate_backend does."""
    conn = await asyncpg.connect(plain_url(settings.database_url))
    try:
        cut: int = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
            f"duban-{prefix}",
        )
    finally:
        await conn.close()
    return cut


async def test_a_read_that_meets_a_dropped_connection_is_retried_on_a_fresh_one(
    api_settings: ApiSettings,
) -> None:
    """The server terminates the api's connections: a read meets the dead one, and is answered
    from a fresh connection rather than with an error the caller must retry."""
    prefix = f"faults-{uuid.uuid4().hex[:8]}"
    settings = api_settings.model_copy(
        update={"queue_prefix": prefix, "db_pool_size": 1, "db_ping_idle_seconds": 3600}
    )
    missing = f"/api/v1/public/programs/{uuid.uuid4()}/projects"  # needs the database, no sign-in
    async with running(settings) as client:
        assert (await client.get(missing)).status_code == 404
        assert await _cut(settings, prefix) >= 1
        retried = await client.get(missing)
        assert retried.status_code == 404, retried.text  # answered, as if nothing had happened


async def _office_admin(settings: ApiSettings, code: str) -> dict[str, str]:
    """An office and its admin, committed where the api's own connections see them."""
    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as s:
            uid = uuid.uuid4()
            s.add(Unit(id=uid, code=code, name="断连测试办公室", kind="office", path=f"/{uid}/"))
            await s.flush()
            admin = AppUser(
                username=f"{code}-admin".lower(),
                display_name="管理员",
                password_hash="!",  # signs in by token only
                unit_id=uid,
                roles=["office_admin"],
            )
            s.add(admin)
            await s.commit()
            token, _ = issue_token(settings, subject=f"user:{admin.id}", extra={})
    finally:
        await engine.dispose()
    return {"Authorization": f"Bearer {token}"}


async def test_a_write_that_meets_a_dropped_connection_is_503_and_saves_nothing(
    api_settings: ApiSettings,
) -> None:
    """A write whose own statements meet the dead connection may have begun writing: it is not
    replayed behind the caller's back but answered 503 with Retry-After: 1, nothing saved; the
    caller's retry works."""
    prefix = f"faults-{uuid.uuid4().hex[:8]}"
    settings = api_settings.model_copy(
        update={"queue_prefix": prefix, "db_pool_size": 1, "db_ping_idle_seconds": 3600}
    )
    headers = await _office_admin(api_settings, f"O-{prefix}")
    unit = {"code": f"U-{prefix}", "name": "新单位", "kind": "department"}
    async with running(settings) as client:
        assert (await client.get("/api/v1/me", headers=headers)).status_code == 200  # the token is known now
        assert await _cut(settings, prefix) >= 1
        lost = await client.post("/api/v1/units", json=unit, headers=headers)
        assert lost.status_code == 503, lost.text
        assert lost.headers["Retry-After"] == "1" and "database" in lost.json()["detail"]
        listed = await client.get("/api/v1/units", params={"q": unit["code"]}, headers=headers)
        assert listed.json()["count"] == 0  # nothing was saved
        assert (await client.post("/api/v1/units", json=unit, headers=headers)).status_code == 201
