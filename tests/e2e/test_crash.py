"""A worker SIGKILLed in the middle of a job: after a restart the effect happens exactly once."""

import asyncio
import signal
from uuid import UUID

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import session_factory
from shared.models import NotifierInbox, NotifierPingReceipt, OutboxMessage
from tests.e2e.conftest import Spawn, operator_headers, wait_ready
from tests.helpers import eventually, free_port

pytestmark = pytest.mark.e2e


async def test_killed_worker_mid_job_applies_it_exactly_once_after_restart(
    spawn: Spawn, base_env: dict[str, str], engine: AsyncEngine, redis: Redis
) -> None:
    port = free_port()
    # Short job timeout: arq hands a crashed worker's job on once timeout + 10 s have passed.
    worker_env = {**base_env, "DUBAN_JOB_TIMEOUT_SECONDS": "3"}
    api = spawn("serve", "api", "--port", str(port), env=base_env, log="api")
    notifier = spawn("serve", "notifier", env=worker_env, log="notifier-1")
    await wait_ready(f"http://127.0.0.1:{port}", api)

    headers = await operator_headers(f"http://127.0.0.1:{port}", base_env)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers) as c:
        r = await c.post("/api/v1/pings", json={"targets": ["notifier"], "delay_seconds": 2.5})
    ping_id = UUID(r.json()["id"])
    sessions = session_factory(engine)

    async def message_id() -> UUID | None:
        async with sessions() as s:
            return await s.scalar(
                select(OutboxMessage.id).where(OutboxMessage.payload["ping_id"].astext == str(ping_id))
            )

    mid = await eventually(message_id, within=10)
    await eventually(lambda: redis.exists(f"arq:in-progress:{mid}"), within=15)  # the job is running

    notifier.send_signal(signal.SIGKILL)
    notifier.wait(10)

    async def receipts() -> list[NotifierPingReceipt]:
        async with sessions() as s:
            return list(
                await s.scalars(select(NotifierPingReceipt).where(NotifierPingReceipt.ping_id == ping_id))
            )

    await asyncio.sleep(3)  # long enough for the job to have finished, had the worker lived
    assert await receipts() == []

    spawn("serve", "notifier", env=worker_env, log="notifier-2")
    [receipt] = await eventually(receipts, within=45, every=0.25)
    assert receipt.job_try >= 2  # the restarted worker ran it again
    await asyncio.sleep(1.5)
    assert len(await receipts()) == 1
    async with sessions() as s:
        assert await s.scalar(select(func.count()).where(NotifierInbox.message_id == mid)) == 1
