"""A deadlock's victim runs again inside the request: the phone's batch is answered 200, not 500.

The test's own transaction takes a score the batch will want second, waits until the batch is
blocked on it, then wants the one the batch took first: PostgreSQL finds the cycle and rolls back
the batch's transaction (it waited first). The api runs the batch again once the test's
transaction is gone, and every score is taken once."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from shared.db import plain_url
from tests.e2e.conftest import Spawn, api_up, own_database
from tests.e2e.scenes import open_round
from tests.helpers import eventually

pytestmark = pytest.mark.e2e

_RECEIVE = (
    "INSERT INTO score_receipt (round_id, inspector_id, client_id, received_at) VALUES ($1, $2, $3, now())"
)


async def test_a_batch_chosen_as_a_deadlocks_victim_is_run_again_and_answered(
    spawn: Spawn, base_env: dict[str, str]
) -> None:
    async with own_database(base_env, "deadlock") as env:
        base_url, admin = await api_up(spawn, env)
        async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=admin) as c:
            scene = await open_round(c, projects=2, inspectors=1)
        inspector, phone = scene.inspectors[0]
        first, second = sorted(uuid.uuid4() for _ in range(2))  # the batch takes them in this order
        taken = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        batch = [
            {"client_id": str(cid), "project_id": p, "criterion": "c0", "value": 80, "scored_at": taken}
            for cid, p in zip((first, second), scene.projects, strict=True)
        ]
        rival = await asyncpg.connect(plain_url(env["DUBAN_DATABASE_URL"]))
        watcher = await asyncpg.connect(plain_url(env["DUBAN_DATABASE_URL"]))
        try:
            rival_tx = rival.transaction()
            await rival_tx.start()
            await rival.execute(_RECEIVE, uuid.UUID(scene.round_id), uuid.UUID(inspector), second)
            async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=phone) as p:
                sent = asyncio.create_task(
                    p.post(f"/api/v1/rounds/{scene.round_id}/scores", json={"scores": batch})
                )

                async def blocked() -> bool:
                    return bool(
                        await watcher.fetchval(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND query LIKE 'INSERT INTO score_receipt%' AND pid <> $1",
                            rival.get_server_pid(),
                        )
                    )

                await eventually(blocked, within=30, every=0.05)
                # the cycle: PostgreSQL rolls back the batch, which waited first, and lets this through
                await rival.execute(_RECEIVE, uuid.UUID(scene.round_id), uuid.UUID(inspector), first)
                await rival_tx.rollback()
                answer = await sent
            assert answer.status_code == 200, answer.text
            assert [i["status"] for i in answer.json()["items"]] == ["accepted", "accepted"]
            stored = await watcher.fetchval(
                "SELECT count(*) FROM score_receipt WHERE round_id = $1", uuid.UUID(scene.round_id)
            )
            assert stored == 2
        finally:
            await rival.close()
            await watcher.close()
