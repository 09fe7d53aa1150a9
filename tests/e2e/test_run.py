"""`duban run` (what `make run` runs): three real processes, a ping through, a clean stop."""

import signal
from pathlib import Path

import psutil
import pytest

from tests.e2e.conftest import Spawn, operator_headers, ping_completes, wait_ready
from tests.helpers import eventually, free_port, port_open

pytestmark = pytest.mark.e2e


async def test_make_run_serves_a_ping_through_all_three_and_stops_cleanly(
    spawn: Spawn, base_env: dict[str, str]
) -> None:
    port = free_port()
    supervisor = spawn("run", "--port", str(port), env={**base_env, "DUBAN_DEV_STACK": "external"}, log="run")
    base_url = f"http://127.0.0.1:{port}"
    await wait_ready(base_url, supervisor)
    children = psutil.Process(supervisor.pid).children(recursive=True)
    assert len(children) == 3

    ping = await ping_completes(base_url, {}, await operator_headers(base_url, base_env))
    assert [r["service"] for r in ping["receipts"]] == ["notifier", "ranker"]  # type: ignore[index]

    supervisor.send_signal(signal.SIGINT)  # Ctrl-C
    assert supervisor.wait(30) == 0
    _gone, alive = psutil.wait_procs(children, timeout=5)
    assert alive == [] and not port_open("127.0.0.1", port)


async def test_a_service_that_dies_is_started_again_and_the_rest_keep_running(
    spawn: Spawn, base_env: dict[str, str]
) -> None:
    """`duban run` used to stop the whole system when one service died; now it starts that one
    again (with backoff when it keeps dying) and the others never stop."""
    port = free_port()
    supervisor = spawn("run", "--port", str(port), env={**base_env, "DUBAN_DEV_STACK": "external"}, log="run")
    base_url = f"http://127.0.0.1:{port}"
    await wait_ready(base_url, supervisor)

    def running(service: str) -> list[psutil.Process]:
        """The supervisor's live children serving `service` (one that just died may linger as a zombie)."""
        found = []
        for p in psutil.Process(supervisor.pid).children(recursive=True):
            try:
                if service in p.cmdline() and p.status() != psutil.STATUS_ZOMBIE:
                    found.append(p)
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
        return found

    def notifiers() -> list[psutil.Process]:
        return running("notifier")

    [first] = notifiers()
    api = running("api")
    first.kill()

    async def replaced() -> list[psutil.Process]:
        return [p for p in notifiers() if p.pid != first.pid]

    [second] = await eventually(replaced, within=30)
    assert supervisor.poll() is None and all(p.is_running() for p in api)
    ping = await ping_completes(base_url, {}, await operator_headers(base_url, base_env))
    assert [r["service"] for r in ping["receipts"]] == ["notifier", "ranker"]  # type: ignore[index]
    supervisor.send_signal(signal.SIGINT)
    assert supervisor.wait(30) == 0
    _gone, alive = psutil.wait_procs([second], timeout=5)
    assert alive == []  # the restarted one stops with the rest


async def test_embedded_stack_when_nothing_is_configured(
    spawn: Spawn, tmp_path: Path, queue_prefix: str
) -> None:
    """No database or Redis given: embedded PostgreSQL 18 and Redis, data under the data dir."""
    port, pg_port, redis_port = free_port(), free_port(), free_port()
    env = {
        "DUBAN_DEV_STACK": "embedded",
        "DUBAN_DATA_DIR": str(tmp_path / "data"),
        "DUBAN_DEV_PG_PORT": str(pg_port),
        "DUBAN_DEV_REDIS_PORT": str(redis_port),
        "DUBAN_QUEUE_PREFIX": queue_prefix + "-embedded",
    }
    supervisor = spawn("run", "--port", str(port), env=env, log="embedded")
    base_url = f"http://127.0.0.1:{port}"
    await wait_ready(base_url, supervisor, within=60)
    assert port_open("127.0.0.1", pg_port) and port_open("127.0.0.1", redis_port)
    embedded_db = {
        "DUBAN_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{pg_port}/duban",
        "DUBAN_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
    }
    await ping_completes(base_url, {}, await operator_headers(base_url, embedded_db))
    assert (tmp_path / "data" / "postgres" / "pgdata" / "PG_VERSION").read_text().strip() == "18"

    supervisor.send_signal(signal.SIGINT)
    assert supervisor.wait(60) == 0
    assert not port_open("127.0.0.1", pg_port) and not port_open("127.0.0.1", redis_port)
