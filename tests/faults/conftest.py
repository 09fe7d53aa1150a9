"""The fault tests reuse the e2e tests' process spawner (the small world comes to every package
from tests/world.py), and have a Redis server of their own to stop and start."""

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import spawn
from tests.helpers import free_port

__all__ = ["spawn"]

REDIS_SERVER = shutil.which("redis-server")


class PrivateRedis:
    """A Redis server of this test's own, to stop and start at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


async def wipe(server: PrivateRedis) -> None:
    """`SHUTDOWN NOSAVE`: the server goes with every queue and job in it; then a new, empty one."""
    with contextlib.suppress(Exception):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"SHUTDOWN NOSAVE\r\n")
        await writer.drain()
        await reader.read(100)
        writer.close()
    assert server.proc is not None
    await asyncio.to_thread(server.proc.wait, 10)
    server.start()
    await redis_ready(server.port)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if REDIS_SERVER is None:
        pytest.skip("no redis-server on this machine")
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


async def redis_ready(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError("the private Redis did not start")
