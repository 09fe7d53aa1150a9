"""Start the real processes the way `make run` and the containers do."""

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from services.api.migrate import upgrade
from tests.conftest import create_database, drop_database
from tests.helpers import eventually, free_port

pytestmark = pytest.mark.e2e

Spawn = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """Start `duban …` as a real process; anything left running is stopped after the test."""
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(*args: str, env: dict[str, str], log: str, cwd: Path | None = None) -> subprocess.Popen[bytes]:
        """`cwd`: run the code found there (another release's) rather than this checkout's."""
        log_path = tmp_path / f"{log}.log"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")} | env
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", *args],
            env=full_env,
            cwd=cwd,
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        procs.append((proc, log_path))
        return proc

    yield start
    for proc, _ in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc, log_path in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if os.environ.get("DUBAN_TEST_SHOW_LOGS"):
            print(log_path.read_text(errors="replace")[-4000:])


async def wait_ready(base_url: str, proc: subprocess.Popen[bytes], within: float = 60) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as c:

        async def ready() -> bool:
            assert proc.poll() is None, f"process exited with {proc.returncode}"
            try:
                return (await c.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, within=within, every=0.2)


OPERATOR = ("e2e-admin", "E2e-operator-2026")


async def operator_headers(base_url: str, env: dict[str, str]) -> dict[str, str]:
    """Bootstrap an office admin in the running system's database (idempotent) and sign in."""
    username, password = OPERATOR
    done = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "services.cli.main",
            "bootstrap",
            "--office-code",
            "E2E-OFFICE",
            "--office-name",
            "端到端测试办公室",
            "--admin-username",
            username,
            "--admin-password",
            password,
        ],
        env={k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")} | env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as c:
        r = await c.post(
            "/api/v1/auth/token", data={"grant_type": "password", "username": username, "password": password}
        )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def api_up(spawn: Spawn, env: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The api as a real process on a free port, ready: its base URL and an office admin's headers."""
    port = free_port()
    api = spawn("serve", "api", "--port", str(port), env=env, log="api")
    base_url = f"http://127.0.0.1:{port}"
    await wait_ready(base_url, api)
    return base_url, await operator_headers(base_url, env)


async def ping_completes(
    base_url: str, body: dict[str, object], headers: dict[str, str], within: float = 30
) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=base_url, timeout=5, headers=headers) as c:
        r = await c.post("/api/v1/pings", json=body)
        assert r.status_code == 202, r.text
        ping_id = r.json()["id"]

        async def complete() -> dict[str, object] | None:
            got = (await c.get(f"/api/v1/pings/{ping_id}")).json()
            return got if got["complete"] else None

        return await eventually(complete, within=within, every=0.1)


@asynccontextmanager
async def own_database(base_env: dict[str, str], label: str) -> AsyncIterator[dict[str, str]]:
    """The environment of a system on a freshly migrated database of its own (and its own queue
    prefix), for a test whose records and events others must not see; dropped afterwards."""
    name = f"duban_{label}_{uuid.uuid4().hex[:10]}"
    database_url = await create_database(name)
    try:
        await asyncio.to_thread(upgrade, database_url)
        yield {
            **base_env,
            "DUBAN_DATABASE_URL": database_url,
            "DUBAN_QUEUE_PREFIX": f"{base_env['DUBAN_QUEUE_PREFIX']}-{label}",
            "DUBAN_LOG_LEVEL": "WARNING",
        }
    finally:
        await drop_database(name)
