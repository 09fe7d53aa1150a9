"""The containers an ops team builds and starts: compose refuses to start without its secrets, and
the image builds on a government network (no Dockerfile frontend to fetch, dependencies from the
lock file). There is no Docker engine here: compose's own `config` checks the file statically."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(
    COMPOSE is None, reason="docker-compose is not installed (.ci/run installs it)"
)
PROMTOOL = shutil.which("promtool")


def _config(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DUBAN_SECRET_KEY", "POSTGRES_PASSWORD")}
    assert COMPOSE is not None
    return subprocess.run(
        [COMPOSE, "--project-directory", str(ROOT), "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        env={**clean, **env},
        cwd="/",  # no .env of a developer's is read
        check=False,
    )


@needs_compose
def test_compose_reads_the_file_and_fills_in_the_secrets() -> None:
    done = _config(DUBAN_SECRET_KEY="k" * 40, POSTGRES_PASSWORD="pw-for-the-test")
    assert done.returncode == 0, done.stderr
    assert "postgresql://duban:pw-for-the-test@postgres:5432/duban" in done.stdout
    assert "k" * 40 in done.stdout


@needs_compose
@pytest.mark.parametrize("missing", ["DUBAN_SECRET_KEY", "POSTGRES_PASSWORD"])
def test_compose_refuses_to_start_without_a_secret(missing: str) -> None:
    given = {"DUBAN_SECRET_KEY": "k" * 40, "POSTGRES_PASSWORD": "pw-for-the-test"}
    given.pop(missing)
    done = _config(**given)
    assert done.returncode != 0
    assert f"set {missing} in .env" in done.stderr  # no crash loop, no known fallback password


def test_the_image_builds_without_fetching_a_frontend_and_from_the_lock_file() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "# syntax=" not in dockerfile
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    assert (ROOT / "requirements.lock").is_file()
    readme = (ROOT / "README.md").read_text()
    assert "docker compose run --rm -e DUBAN_ADMIN_PASSWORD api bootstrap" in readme


def test_the_installed_package_carries_its_data_files(tmp_path: Path) -> None:
    """The image installs the project as a package (`pip install --no-deps .`), not from the
    source tree: the files read at run time must be in it (the filing function's SQL was not, so
    the image's migration 0010 failed; the Chinese catalog is read on every zh-CN request; /docs
    loads its scripts from the package)."""
    import sys
    import zipfile

    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("duban-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "services/api/reports/file_project_report.sql",
        "shared/locale/zh_CN/LC_MESSAGES/duban.po",
        "services/api/alembic.ini",
        "services/api/migrations/script.py.mako",
        # /docs and /redoc offline (services/api/docs.py)
        "services/api/static/docs/swagger-ui-bundle.js",
        "services/api/static/docs/swagger-ui.css",
        "services/api/static/docs/redoc.standalone.js",
    ):
        assert needed in names, needed


@pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (.ci/run installs Debian's prometheus)"
)
def test_the_alert_rules_load_in_prometheus() -> None:
    """deploy/prometheus/duban-rules.yml, as `promtool check rules` reads it, and each metric it
    names is one the services export."""
    rules = ROOT / "deploy" / "prometheus" / "duban-rules.yml"
    assert PROMTOOL is not None
    done = subprocess.run(
        [PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    exported = "".join(p.read_text() for p in (ROOT / "services").rglob("*.py")) + "".join(
        p.read_text() for p in (ROOT / "shared").rglob("*.py")
    )
    import re

    for metric in set(re.findall(r"duban_[a-z_]+", rules.read_text())):
        base = re.sub(r"_(bucket|sum|count)$", "", metric)
        assert f'"{base}"' in exported, f"{metric} is not a metric the services export"
