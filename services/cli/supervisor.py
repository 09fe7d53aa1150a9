"""`duban run`: migrate, then api + notifier + ranker in the foreground; Ctrl-C stops all three."""

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


def run(*, host: str, port: int, data_dir: Path, mode: str, grace_seconds: float = 20) -> int:
    """Run the whole system until SIGINT/SIGTERM or a service dies; returns the exit code."""
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
        while not stop_requested:
            dead = [name for name, p in children.items() if p.poll() is not None]
            if dead:
                print(
                    f"duban run: {', '.join(dead)} exited; stopping the others", file=sys.stderr, flush=True
                )
                code = 1
                break
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
