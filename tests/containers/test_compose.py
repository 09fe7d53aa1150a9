"""docker-compose.yml brought up for real (`.ci/containers` runs the compose tool against
podman's socket, DUBAN_TEST_COMPOSE names it): every service healthy, a ping crosses api →
notifier and ranker, and `down` then `up` keeps the data."""

import os
import shlex
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.containers.conftest import engine, needs_image
from tests.helpers import eventually, free_port

COMPOSE = shlex.split(os.environ.get("DUBAN_TEST_COMPOSE", ""))
ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("postgres", "redis", "api", "notifier", "ranker")

pytestmark = [
    pytest.mark.e2e,
    needs_image,
    pytest.mark.skipif(
        not COMPOSE, reason="DUBAN_TEST_COMPOSE names no compose tool (.ci/containers sets it)"
    ),
]


class Stack:
    def __init__(self, env_file: Path, project: str) -> None:
        self.env_file, self.project = env_file, project

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        command = [*COMPOSE, "--project-directory", str(ROOT), "-f", str(ROOT / "docker-compose.yml")]
        command += ["--env-file", str(self.env_file), "-p", self.project, *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout)

    def containers(self) -> dict[str, str]:
        """service → container name, for the stack's containers that exist now."""
        listed = engine(
            "ps", "--all", "--filter", f"label=com.docker.compose.project={self.project}",
            "--format", '{{.Names}} {{index .Labels "com.docker.compose.service"}}',
        )  # fmt: skip
        return {service: name for name, service in (line.split() for line in listed.stdout.splitlines())}

    def health(self) -> dict[str, str]:
        out = {}
        for service, name in self.containers().items():
            out[service] = engine("inspect", "--format", "{{.State.Health.Status}}", name).stdout.strip()
        return out


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """A compose project of its own; its containers, network and volumes removed afterwards.

    Podman schedules health checks with systemd timers; where there is no systemd (CI here), a
    thread runs them every two seconds instead, so that `condition: service_healthy` resolves."""
    project = f"dubantest{uuid.uuid4().hex[:8]}"
    env_file = tmp_path / "compose.env"
    env_file.write_text(
        f"POSTGRES_PASSWORD=pg-{uuid.uuid4().hex}\n"
        f"DUBAN_SECRET_KEY=compose-{uuid.uuid4().hex}{uuid.uuid4().hex}\n"
        f"DUBAN_API_PORT={free_port()}\n"
    )
    s = Stack(env_file, project)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(2):
            for name in s.containers().values():
                engine("healthcheck", "run", name, timeout=30)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield s
    finally:
        stop.set()
        ticker.join(timeout=40)
        if os.environ.get("DUBAN_TEST_SHOW_LOGS"):
            print(s.compose("logs", "--tail", "40").stdout)
        s.compose("down", "--volumes", "--timeout", "5")


def _api(stack: Stack) -> str:
    port = next(line.split("=")[1] for line in stack.env_file.read_text().splitlines() if "API_PORT" in line)
    return f"http://127.0.0.1:{port}"


async def _up_and_healthy(stack: Stack) -> None:
    done = stack.compose("up", "--detach", "--no-build")
    assert done.returncode == 0, done.stderr

    seen: dict[str, str] = {}

    async def healthy() -> bool:
        seen.update(stack.health())
        return all(seen.get(s) == "healthy" for s in SERVICES)

    try:
        await eventually(healthy, within=180, every=1)
    except AssertionError:
        raise AssertionError(f"not every service healthy: {seen}") from None
    [migrate] = [n for s, n in stack.containers().items() if s == "migrate"]
    assert engine("inspect", "--format", "{{.State.ExitCode}}", migrate).stdout.strip() == "0"


@asynccontextmanager
async def _signed_in(base_url: str, password: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as c:
        r = await c.post(
            "/api/v1/auth/token", data={"grant_type": "password", "username": "ops", "password": password}
        )
        assert r.status_code == 200, r.text
        c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield c


async def _ping_crosses(c: httpx.AsyncClient) -> None:
    r = await c.post("/api/v1/pings", json={})
    assert r.status_code == 202, r.text
    url = f"/api/v1/pings/{r.json()['id']}"

    async def complete() -> dict[str, object] | None:
        got = (await c.get(url)).json()
        return got if got["complete"] else None

    ping = await eventually(complete, within=60, every=0.5)
    assert sorted(r["service"] for r in ping["receipts"]) == ["notifier", "ranker"]  # type: ignore[union-attr]


async def test_the_compose_stack_comes_up_healthy_and_keeps_its_data_across_down_and_up(stack: Stack) -> None:
    await _up_and_healthy(stack)
    password = "Stack-keeper-2026"
    done = stack.compose(
        "exec", "-T", "api", "duban", "bootstrap", "--office-code", "OPS", "--office-name", "督查室",
        "--admin-username", "ops", "--admin-password", password,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    async with _signed_in(_api(stack), password) as c:
        await _ping_crosses(c)

    done = stack.compose("down", "--timeout", "20")
    assert done.returncode == 0, done.stderr
    assert stack.containers() == {}
    await _up_and_healthy(stack)
    async with _signed_in(_api(stack), password) as c:  # the admin made before `down`
        await _ping_crosses(c)
