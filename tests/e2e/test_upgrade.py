"""Upgrades: the previous release's api keeps serving on the new schema, so a newer image can
migrate while the old one still answers (deploy/README.md, "Upgrades"). The previous release is
the newest `v*` tag behind HEAD (or DUBAN_PREVIOUS_RELEASE); its code comes out of git."""

import asyncio
import os
import subprocess
import sys
import tarfile
import uuid
from io import BytesIO
from pathlib import Path

import httpx
import pytest

from services.api.migrate import upgrade
from tests.conftest import create_database, drop_database
from tests.e2e.conftest import Spawn, wait_ready
from tests.e2e.scenes import open_round
from tests.helpers import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout


def previous_release() -> str | None:
    if named := os.environ.get("DUBAN_PREVIOUS_RELEASE"):
        return named
    if not (ROOT / ".git").exists():
        return None
    head = _git("rev-parse", "HEAD").strip()
    for tag in _git("tag", "--list", "v*", "--merged", "HEAD", "--sort=-creatordate").split():
        if _git("rev-list", "-n", "1", tag).strip() != head:
            return tag
    return None


RELEASE = previous_release()


def _checkout(release: str, into: Path) -> Path:
    """The release's own code (services/ and shared/), out of git, beside this checkout."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", release, "services", "shared"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


@pytest.mark.skipif(RELEASE is None, reason="no earlier release tag (v*) in this checkout's history")
async def test_the_previous_release_serves_on_the_new_schema(
    spawn: Spawn, tmp_path: Path, base_env: dict[str, str]
) -> None:
    assert RELEASE is not None
    old = _checkout(RELEASE, tmp_path / "release")
    name = f"duban_upgrade_{uuid.uuid4().hex[:10]}"
    database_url = await create_database(name)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")} | base_env
    env |= {"DUBAN_DATABASE_URL": database_url, "DUBAN_PORT": str(port), "PYTHONPATH": str(old)}
    env["DUBAN_QUEUE_PREFIX"] += "-upgrade"

    def old_release(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args], cwd=old, env=env, capture_output=True, text=True, timeout=120, **kwargs
        )  # type: ignore[call-overload, no-any-return]

    api = None
    try:
        await asyncio.to_thread(upgrade, database_url)  # the new release's migrations, to head
        where = old_release("-c", "import services, shared; print(services.__file__, shared.__file__)")
        assert where.stdout.split() == [str(old / "services/__init__.py"), str(old / "shared/__init__.py")]
        done = old_release(
            "-m", "services.cli.main", "bootstrap", "--office-code", "UPG", "--office-name", "督查室",
            "--admin-username", "upgrader", "--admin-password", "Upgrade-path-2026",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr

        api = spawn("serve", "api", env=env, log="old-api", cwd=old)
        base_url = f"http://127.0.0.1:{port}"
        await wait_ready(base_url, api)
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as c:
            r = await c.post(
                "/api/v1/auth/token",
                data={"grant_type": "password", "username": "upgrader", "password": "Upgrade-path-2026"},
            )
            assert r.status_code == 200, r.text
            c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            # Units, a program, approved projects, inspectors and an open round: written by the old code.
            scoring = await open_round(c, projects=2, inspectors=2)
            r = await c.post(
                f"/api/v1/projects/{scoring.projects[0]}/reports",
                json={"period": "2018-09", "investment_month": "10", "progress_percent": "20"},
            )
            assert r.status_code == 201, r.text
            for url in (
                f"/api/v1/projects/{scoring.projects[0]}",
                f"/api/v1/programs/{scoring.program_id}",
                f"/api/v1/rounds/{scoring.round_id}",
                "/api/v1/notices",
            ):
                assert (await c.get(url)).status_code == 200, url
    finally:
        if api is not None:
            api.terminate()
            api.wait(30)
        await drop_database(name)
