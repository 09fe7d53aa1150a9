"""A worker rides out a Redis outage: it neither exits nor needs a restart, says it is not ready
while Redis is away, and reports in again once Redis is back."""

import asyncio
import signal
import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from shared.queues import Target
from shared.settings import NotifierSettings
from shared.worker import check_health
from tests.e2e.conftest import Spawn
from tests.faults.conftest import PrivateRedis, redis_ready
from tests.helpers import eventually

pytestmark = pytest.mark.e2e


async def test_the_notifier_survives_redis_going_away_and_coming_back(
    spawn: Spawn, base_env: dict[str, str], private_redis: PrivateRedis
) -> None:
    await redis_ready(private_redis.port)
    env = {
        **base_env,
        "DUBAN_REDIS_URL": f"redis://127.0.0.1:{private_redis.port}/0",
        "DUBAN_HEALTH_CHECK_INTERVAL_SECONDS": "1",
    }
    settings = NotifierSettings(**{k.removeprefix("DUBAN_").lower(): v for k, v in env.items()})
    notifier = spawn("serve", "notifier", env=env, log="notifier")

    async def healthy() -> bool:
        try:
            return await check_health(settings, Target.NOTIFIER) == 0
        except (OSError, RedisConnectionError):
            return False

    await eventually(healthy, within=30)
    for outage in (1.0, 6.0):  # a blip, and long enough for several reconnect attempts
        private_redis.stop()
        started = time.monotonic()
        if outage > 5:
            assert not await healthy()  # not ready while Redis is away (arq's check retries for ~5 s)

        while time.monotonic() - started < outage:
            assert notifier.poll() is None, "the worker exited on a Redis outage"
            await asyncio.sleep(0.2)
        private_redis.start()
        await redis_ready(private_redis.port)  # a new, empty Redis: only the worker can say it is up
        await eventually(healthy, within=45)

        assert notifier.poll() is None
    notifier.send_signal(signal.SIGTERM)  # stopped while Redis is up: it goes at once
    await asyncio.to_thread(notifier.wait, 20)


@pytest.mark.parametrize("service", ["notifier", "ranker"])
async def test_a_worker_stopped_as_redis_goes_stops(
    spawn: Spawn, base_env: dict[str, str], private_redis: PrivateRedis, service: str
) -> None:
    """`docker compose down` stops Redis and the workers at once: SIGTERM reaching a worker just
    as its connection drops still stops it (it once retried Redis for ever, till SIGKILL)."""
    await redis_ready(private_redis.port)
    env = {
        **base_env,
        "DUBAN_REDIS_URL": f"redis://127.0.0.1:{private_redis.port}/0",
        "DUBAN_HEALTH_CHECK_INTERVAL_SECONDS": "1",
    }
    settings = NotifierSettings(**{k.removeprefix("DUBAN_").lower(): v for k, v in env.items()})
    worker = spawn("serve", service, env=env, log=service)

    async def healthy() -> bool:
        try:
            return await check_health(settings, Target(service)) == 0
        except (OSError, RedisConnectionError):
            return False

    await eventually(healthy, within=30)
    private_redis.stop()
    worker.send_signal(signal.SIGTERM)
    started = time.monotonic()
    await asyncio.to_thread(worker.wait, 30)
    assert worker.returncode == 0 and time.monotonic() - started < 10
