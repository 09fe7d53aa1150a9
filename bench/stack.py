"""What every bench run needs: a database it creates and drops, free ports, a server that
answers, and an office admin signed in."""

import socket
import subprocess
import sys
import time

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
