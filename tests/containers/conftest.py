"""The image run the way an operator runs it: `.ci/containers` builds it from deploy/Dockerfile
and names it in DUBAN_TEST_IMAGE; without one these tests are skipped (`make test` does not
collect them: they are not in pytest's testpaths)."""

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import pytest

from tests.conftest import create_database, drop_database

IMAGE = os.environ.get("DUBAN_TEST_IMAGE", "")
ENGINE = os.environ.get("DUBAN_TEST_ENGINE", "podman")
SECRET = "containers-" + "s" * 32

needs_image = pytest.mark.skipif(
    not IMAGE, reason="DUBAN_TEST_IMAGE names no image (.ci/containers builds one)"
)


def engine(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ENGINE, *args], capture_output=True, text=True, timeout=timeout)


@dataclass
class Containers:
    """Containers of the image on the host's network with a read-only root filesystem, as
    deploy/README.md tells an operator to run them; removed after the test."""

    env: dict[str, str]
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    started: list[str] = field(default_factory=list)

    def _flags(self, env: dict[str, str]) -> list[str]:
        flags = ["--network=host", "--read-only"]
        for key, value in {**self.env, **env}.items():
            flags += ["--env", f"{key}={value}"]
        return flags

    def once(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """A one-shot container (`migrate`, `bootstrap`, a sweep): its exit code and output."""
        return engine("run", "--rm", *self._flags(env or {}), IMAGE, *args)

    def start(self, service: str, *args: str) -> str:
        name = f"duban-test-{self.tag}-{service}"
        done = engine("run", "--detach", "--name", name, *self._flags({}), IMAGE, "serve", service, *args)
        assert done.returncode == 0, done.stderr
        self.started.append(name)
        return name

    def logs(self, name: str) -> str:
        done = engine("logs", name)
        return done.stdout + done.stderr

    def remove(self) -> None:
        if self.started:
            engine("rm", "--force", "--time", "1", *self.started)


@pytest.fixture
async def own_env() -> AsyncIterator[dict[str, str]]:
    """A fresh, empty database and queue prefix for the containers, dropped afterwards."""
    name = f"duban_containers_{uuid.uuid4().hex[:10]}"
    url = await create_database(name)
    try:
        yield {
            "DUBAN_DATABASE_URL": url,
            "DUBAN_REDIS_URL": os.environ.get("DUBAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
            "DUBAN_QUEUE_PREFIX": f"duban-containers-{name}",
            "DUBAN_SECRET_KEY": SECRET,
            "DUBAN_LOG_LEVEL": "INFO",
        }
    finally:
        await drop_database(name)


@pytest.fixture
def containers(own_env: dict[str, str]) -> Iterator[Callable[[], Containers]]:
    made: list[Containers] = []

    def make() -> Containers:
        made.append(Containers(own_env))
        return made[-1]

    yield make
    for c in made:
        if os.environ.get("DUBAN_TEST_SHOW_LOGS"):
            for name in c.started:
                print(f"--- {name}\n{c.logs(name)[-4000:]}")
        c.remove()
