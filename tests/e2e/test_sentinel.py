"""Redis behind Sentinel: with DUBAN_REDIS_SENTINELS set, the api and the workers find the
primary through the sentinels (the URL's host is never used) and work crosses between them."""

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.e2e.conftest import Spawn, operator_headers, ping_completes, wait_ready
from tests.helpers import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A real Redis Sentinel watching the test Redis as a primary of its own name: (address, name)."""
    port, name = free_port(), f"duban-{uuid.uuid4().hex[:8]}"
    conf = tmp_path / "sentinel.conf"  # Sentinel rewrites its own configuration file
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\nsentinel monitor {name} 127.0.0.1 6379 1\n"
    )
    proc = subprocess.Popen(
        ["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                if client.execute_command("SENTINEL", "get-master-addr-by-name", name):
                    break
            except redis.ConnectionError:
                assert proc.poll() is None, "redis-server --sentinel exited"
            time.sleep(0.05)
        yield f"127.0.0.1:{port}", name
    finally:
        proc.terminate()
        proc.wait(10)


async def test_the_services_reach_redis_through_sentinel(
    spawn: Spawn, base_env: dict[str, str], sentinel: tuple[str, str]
) -> None:
    address, name = sentinel
    env = {
        **base_env,
        "DUBAN_REDIS_URL": "redis://found-through-sentinel/0",  # resolves nowhere
        "DUBAN_REDIS_SENTINELS": address,
        "DUBAN_REDIS_SENTINEL_MASTER": name,
        "DUBAN_QUEUE_PREFIX": base_env["DUBAN_QUEUE_PREFIX"] + "-sentinel",
    }
    port = free_port()
    api = spawn("serve", "api", "--port", str(port), env=env, log="api")
    spawn("serve", "notifier", env=env, log="notifier")
    spawn("serve", "ranker", env=env, log="ranker")
    base_url = f"http://127.0.0.1:{port}"
    await wait_ready(base_url, api)
    ping = await ping_completes(base_url, {}, await operator_headers(base_url, base_env))
    assert sorted(r["service"] for r in ping["receipts"]) == ["notifier", "ranker"]  # type: ignore[union-attr]
