"""`duban health api|notifier|ranker`, what a container's health check runs: 0 while the service
is well, 1 once it is gone."""

import asyncio
import subprocess
import sys

import pytest

from tests.e2e.conftest import Spawn, wait_ready
from tests.helpers import eventually, free_port

pytestmark = pytest.mark.e2e


async def _health(service: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.cli.main", "health", service],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_api_is_healthy_while_it_answers_ready_and_not_once_stopped(
    spawn: Spawn, base_env: dict[str, str]
) -> None:
    port = free_port()
    env = {**base_env, "DUBAN_PORT": str(port)}
    api = spawn("serve", "api", env=env, log="api")
    await wait_ready(f"http://127.0.0.1:{port}", api)
    done = await _health("api", env)
    assert (done.returncode, done.stdout.strip()) == (0, "api: ready")

    api.terminate()
    api.wait(30)
    done = await _health("api", env)
    assert done.returncode == 1 and f"no answer on port {port}" in done.stdout


async def test_a_worker_is_healthy_once_it_reports_in(spawn: Spawn, base_env: dict[str, str]) -> None:
    env = {**base_env, "DUBAN_QUEUE_PREFIX": base_env["DUBAN_QUEUE_PREFIX"] + "-health"}
    assert (await _health("ranker", env)).returncode == 1  # nothing has reported in under this prefix
    spawn("serve", "ranker", env=env, log="ranker")

    async def healthy() -> bool:
        return (await _health("ranker", env)).returncode == 0

    await eventually(healthy, within=60, every=1)
