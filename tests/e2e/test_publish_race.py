"""Six publications of one version at once (an office's double clicks, two clerks): one is
published, the others are 409, and one round.published event goes out."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from shared.db import plain_url
from tests.e2e.conftest import Spawn, api_up, own_database
from tests.e2e.scenes import open_round
from tests.helpers import eventually

pytestmark = pytest.mark.e2e


async def test_one_of_six_concurrent_publications_publishes(spawn: Spawn, base_env: dict[str, str]) -> None:
    async with own_database(base_env, "publish") as env:
        spawn("serve", "ranker", env=env, log="ranker")
        base_url, admin = await api_up(spawn, env)
        async with httpx.AsyncClient(base_url=base_url, timeout=60, headers=admin) as c:
            scene = await open_round(c, projects=2, inspectors=1)
            _, phone = scene.inspectors[0]
            taken = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
            batch = [
                {
                    "client_id": str(uuid.uuid4()),
                    "project_id": p,
                    "criterion": "c0",
                    "value": v,
                    "scored_at": taken,
                }
                for p, v in zip(scene.projects, (90, 60), strict=True)
            ]
            url = f"/api/v1/rounds/{scene.round_id}"
            assert (await c.post(f"{url}/scores", json={"scores": batch}, headers=phone)).status_code == 200
            assert (await c.post(f"{url}/close")).status_code == 202

            async def ranked() -> dict[str, Any] | None:
                got = (await c.get(f"{url}/results")).json()
                return got if got.get("state") == "ready" else None

            await eventually(ranked, within=60, every=0.2)
            answers = await asyncio.gather(
                *(c.post(f"{url}/publish", json={"snapshot_version": 1}) for _ in range(6))
            )
        assert sorted(r.status_code for r in answers) == [200] + [409] * 5, [r.text for r in answers]
        conn = await asyncpg.connect(plain_url(env["DUBAN_DATABASE_URL"]))
        try:
            events = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE payload->>'event' = 'round.published'"
            )
        finally:
            await conn.close()
        assert events == 1
