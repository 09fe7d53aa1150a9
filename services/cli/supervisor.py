"""`duban run`: migrate, then api + notifier + ranker in the foreground; a service that dies is
started again with backoff; Ctrl-C stops all three."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from services.api.migrate import upgrade
from services.cli.devstack import DevStack, die_with_parent

SERVICES = ("api", "notifier", "ranker")


def _spawn(service: str, env: dict[str, str], host: str, port: int) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "services.cli.main", "serve", service]
    if service == "api":
        args += ["--host", host, "--port", str(port)]
    # Own session: a terminal's Ctrl-C reaches only the supervisor, which stops each child once.
    return subprocess.Popen(args, env=env, start_new_session=True, preexec_fn=die_with_parent)


class Restarts:
    """When to start a service that exited again: at once the first time, then after 1 s, doubling
    up to a minute while it keeps dying; a service that ran for a minute starts the count afresh."""

    def __init__(self, longest: float = 60.0) -> None:
        self.longest = longest
        self.failures: dict[str, int] = {}
        self.since: dict[str, float] = {}
        self.died_at: dict[str, float] = {}

    def running(self, name: str, now: float) -> None:
        self.died_at.pop(name, None)
        started = self.since.setdefault(name, now)
        if now - started >= self.longest:
            self.failures[name] = 0

    def due(self, name: str, now: float) -> float | None:
        """The backoff it waited, when it is time to start it again; None while it must wait."""
        died = self.died_at.setdefault(name, now)
        failures = self.failures.get(name, 0)
        wait = 0.0 if failures == 0 else min(self.longest, 2.0 ** (failures - 1))
        if now - died < wait:
            return None
        self.failures[name] = failures + 1
        self.since[name] = now
        del self.died_at[name]
        return wait


def run(*, host: str, port: int, data_dir: Path, mode: str, grace_seconds: float = 20) -> int:
    """Run the whole system until SIGINT/SIGTERM, starting again (with backoff) any service that
    dies; returns the exit code."""
    stop_requested = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    env = dict(os.environ)
    stack = DevStack(
        data_dir,
        mode=mode,
        pg_port=int(env.get("DUBAN_DEV_PG_PORT", "55432")),
        redis_port=int(env.get("DUBAN_DEV_REDIS_PORT", "56379")),
    )
    children: dict[str, subprocess.Popen[bytes]] = {}
    code = 0
    try:
        database_url, redis_url, notes = stack.resolve(env)
        env.update(DUBAN_DATABASE_URL=database_url, DUBAN_REDIS_URL=redis_url)
        for note in notes:
            print(f"duban run: {note}", flush=True)
        print("duban run: migrating the database", flush=True)
        upgrade(database_url)
        for service in SERVICES:
            children[service] = _spawn(service, env, host, port)
        print(
            f"duban run: api on http://{host}:{port} (docs at /docs); notifier and ranker running; "
            "Ctrl-C stops all three",
            flush=True,
        )
        restarts = Restarts()
        while not stop_requested:
            now = time.monotonic()
            for name, p in list(children.items()):
                if p.poll() is None:
                    restarts.running(name, now)
                    continue
                wait = restarts.due(name, now)
                if wait is None:
                    continue  # waiting out its backoff
                print(
                    f"duban run: {name} exited with {p.returncode}; starting it again"
                    + (f" (after {wait:.0f} s)" if wait else ""),
                    file=sys.stderr,
                    flush=True,
                )
                children[name] = _spawn(name, env, host, port)
            time.sleep(0.2)
    except Exception as exc:
        print(f"duban run: {exc}", file=sys.stderr, flush=True)
        code = 1
    finally:
        for p in children.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for name, p in children.items():
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"duban run: {name} did not stop in time; killing it", file=sys.stderr, flush=True)
                p.kill()
                p.wait()
        stack.stop()
        print("duban run: stopped", flush=True)
    return code
