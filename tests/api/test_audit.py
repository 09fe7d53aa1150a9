"""The audit log: written with each change, append-only, and tamper-evident."""

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.migrate import upgrade
from shared.db import plain_url
from tests.conftest import REDIS_URL, create_database, drop_database
from tests.world import World


async def test_each_change_is_audited_with_who_what_and_before_after(
    client: AsyncClient, world: World
) -> None:
    admin = world.auth("p_admin")
    url = f"/api/v1/units/{world.units['B'].id}"
    r = await client.patch(
        url,
        json={"name": "伊川县人民政府"},
        headers={**admin, "If-Match": "1", "X-Request-ID": "req-audit-7"},
    )
    assert r.status_code == 200
    log = await client.get(
        f"/api/v1/audit?entity=unit&entity_id={world.units['B'].id}", headers=world.auth("p_auditor")
    )
    [entry] = log.json()["data"]
    assert entry["action"] == "unit.update"
    assert (entry["actor_kind"], entry["actor_id"]) == ("user", str(world.users["p_admin"].id))
    assert entry["before"]["name"] == "B" and entry["after"]["name"] == "伊川县人民政府"
    assert entry["request_id"] == "req-audit-7"


async def test_a_refused_change_leaves_no_audit_row(client: AsyncClient, world: World) -> None:
    body = {
        "code": world.units["B"].code,
        "name": "x",
        "kind": "other",
        "parent_id": str(world.units["A"].id),
    }
    assert (await client.post("/api/v1/units", json=body, headers=world.auth("p_admin"))).status_code == 409
    log = await client.get("/api/v1/audit?entity=unit", headers=world.auth("p_auditor"))
    assert all(e["after"]["code"] != body["code"] or e["action"] != "unit.create" for e in log.json()["data"])


async def test_the_audit_log_refuses_update_and_delete(
    client: AsyncClient, world: World, session: AsyncSession
) -> None:
    await client.post(
        "/api/v1/units",
        json={
            "code": f"X-{uuid.uuid4().hex[:6]}",
            "name": "x",
            "kind": "other",
            "parent_id": str(world.units["A"].id),
        },
        headers=world.auth("p_admin"),
    )
    for sql in ("UPDATE audit_log SET action = 'nothing'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with session.begin_nested():
                await session.execute(text(sql))


def duban(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli.main", *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
async def scratch_db() -> AsyncIterator[str]:
    name = f"duban_audit_{uuid.uuid4().hex[:8]}"
    url = await create_database(name)
    await asyncio.to_thread(upgrade, url)
    yield url
    await drop_database(name)


async def test_verify_names_the_first_altered_or_removed_row(scratch_db: str) -> None:
    env = {"DUBAN_DATABASE_URL": scratch_db, "DUBAN_REDIS_URL": REDIS_URL}

    def bootstrap(code: str) -> subprocess.CompletedProcess[str]:
        names = [
            "--office-code",
            code,
            "--office-name",
            f"{code} office",
            "--admin-username",
            f"admin-{code}",
        ]
        return duban("bootstrap", *names, "--admin-password", "Henan-2018-pw", env=env)

    for code in ("HA", "HB"):
        made = bootstrap(code)
        assert made.returncode == 0, made.stderr
    again = bootstrap("HA")
    assert again.returncode == 0 and "already there" in again.stdout
    intact = duban("audit", "verify", env=env)
    assert intact.returncode == 0 and "4 rows verified" in intact.stdout

    conn = await asyncpg.connect(plain_url(scratch_db))
    try:
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM audit_log ORDER BY id")]
        await conn.execute("SET session_replication_role = replica")  # a superuser going around the trigger
        original = await conn.fetchval("SELECT after::text FROM audit_log WHERE id = $1", ids[1])
        await conn.execute(
            "UPDATE audit_log SET after = jsonb_set(after, '{name}', '\"forged\"') WHERE id = $1", ids[1]
        )
        altered = duban("audit", "verify", env=env)
        assert altered.returncode == 1
        assert f"row {ids[1]}: its contents were altered" in altered.stderr
        await conn.execute("UPDATE audit_log SET after = $2::jsonb WHERE id = $1", ids[1], original)
        assert duban("audit", "verify", env=env).returncode == 0
        await conn.execute("DELETE FROM audit_log WHERE id = $1", ids[2])
        removed = duban("audit", "verify", env=env)
        assert removed.returncode == 1
        assert f"row {ids[3]}: the row before it was removed" in removed.stderr
    finally:
        await conn.close()


async def test_rows_are_chained_after_commit_in_commit_order_and_only_once(scratch_db: str) -> None:
    """Writers take no lock: a transaction that commits late takes a later place in the chain."""
    env = {"DUBAN_DATABASE_URL": scratch_db, "DUBAN_REDIS_URL": REDIS_URL}
    insert = (
        "INSERT INTO audit_log (occurred_at, actor_kind, actor_id, action, entity, entity_id, after) "
        "VALUES (now(), 'user', 'u1', $1, 'unit', 'x', '{\"n\": 1}') RETURNING id"
    )
    early, late = await asyncpg.connect(plain_url(scratch_db)), await asyncpg.connect(plain_url(scratch_db))
    try:
        slow = early.transaction()
        await slow.start()
        first_id = await early.fetchval(insert, "written first, committed last")
        second_id = await late.fetchval(insert, "written second, committed first")
        assert second_id > first_id
        chained = duban("audit", "verify", env=env)  # the open transaction's row is not seen yet
        assert chained.returncode == 0, chained.stderr
        assert "chained 1 rows" in chained.stdout and "1 rows verified" in chained.stdout
        await slow.commit()
        again = duban("audit", "verify", env=env)
        assert (
            again.returncode == 0 and "chained 1 rows" in again.stdout and "2 rows verified" in again.stdout
        )
        order = await late.fetch("SELECT id FROM audit_log ORDER BY seq")
        assert [r["id"] for r in order] == [second_id, first_id]

        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await late.execute("UPDATE audit_log SET hash = 'x' WHERE id = $1", second_id)  # chained once
        third_id = await late.fetchval(insert, "waiting")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):  # chaining can't edit
            await late.execute(
                "UPDATE audit_log SET seq = 99, prev_hash = 'p', hash = 'h', action = 'forged' WHERE id = $1",
                third_id,
            )
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await late.execute("DELETE FROM audit_log WHERE id = $1", third_id)
    finally:
        await early.close()
        await late.close()
