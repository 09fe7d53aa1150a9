"""What every bench run needs: a database it creates and drops, free ports, a server that
answers, and an office admin signed in."""

import asyncio
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import httpx

from shared.db import plain_url

PASSWORD = "Load-test-2026x"


async def admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(plain_url(admin_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def fresh_database(admin_url: str, label: str) -> Iterator[str]:
    """A migrated database of its own for one bench (its URL), dropped afterwards."""
    from sqlalchemy.engine import make_url

    from services.api.migrate import upgrade

    name = f"duban_bench_{label}_{uuid.uuid4().hex[:8]}"
    asyncio.run(admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        upgrade(url)
        yield url
    finally:
        asyncio.run(admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench: server for {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"bench: {url} never answered")


def signed_in(api: str, env: dict[str, str]) -> dict[str, str]:
    """Bootstrap the BENCH office and its admin on the database of `env`; the admin's auth header."""
    office = ["--office-code", "BENCH", "--office-name", "bench"]
    account = ["--admin-username", "bench", "--admin-password", PASSWORD]
    subprocess.run(
        [sys.executable, "-m", "services.cli.main", "bootstrap", *office, *account],
        env=env,
        check=True,
        capture_output=True,
    )
    grant = {"grant_type": "password", "username": "bench", "password": PASSWORD}
    token = httpx.post(f"{api}/api/v1/auth/token", data=grant).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def timed(client: httpx.Client, url: str, rounds: int, **kwargs: object) -> list[float]:
    """Milliseconds per GET of `url`, one at a time, sorted; the first two (warming caches) left out."""
    timings = []
    for _ in range(rounds + 2):
        started = time.perf_counter()
        r = client.get(url, **kwargs)  # type: ignore[arg-type]
        timings.append((time.perf_counter() - started) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"bench: {url} answered {r.status_code}: {r.text[:300]}")
    return sorted(timings[2:])
