"""The `duban` command line: serve, run, migrate, health, bootstrap."""

import asyncio
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from shared.logging import configure_logging
from shared.queues import Target
from shared.settings import (
    ApiSettings,
    DubanSettings,
    NotifierSettings,
    RankerSettings,
    SettingsError,
    load_settings,
)

S = TypeVar("S", bound=DubanSettings)

app = typer.Typer(help="Duban (督办): supervise and urge government-backed projects to completion.")
serve = typer.Typer(help="Run one service in the foreground.")
app.add_typer(serve, name="serve")


class Worker(StrEnum):
    notifier = "notifier"
    ranker = "ranker"


def _settings(cls: type[S], **overrides: object) -> S:
    try:
        return load_settings(cls, **overrides)
    except SettingsError as exc:
        typer.echo(f"duban: {exc}", err=True)
        raise typer.Exit(2) from None


@serve.command("api")
def serve_api(
    host: Annotated[str | None, typer.Option(help="Address to listen on [DUBAN_HOST].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [DUBAN_PORT].")] = None,
) -> None:
    """Serve the HTTP api under uvicorn (uvloop + httptools)."""
    import uvicorn

    from services.api.app import create_app

    overrides = {k: v for k, v in {"host": host, "port": port}.items() if v is not None}
    settings = _settings(ApiSettings, **overrides)
    configure_logging("api", settings.log_level, settings.log_format)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )


def _serve_worker(worker: Worker) -> None:
    if worker is Worker.notifier:
        from services.notifier.worker import create_worker

        settings = _settings(NotifierSettings)
    else:
        from services.ranker.worker import create_worker  # type: ignore[assignment]

        settings = _settings(RankerSettings)
    configure_logging(worker.value, settings.log_level, settings.log_format)
    create_worker(settings).run()  # type: ignore[arg-type]


@serve.command("notifier")
def serve_notifier() -> None:
    """Run the notifier worker (rules, notices, escalation, delivery)."""
    _serve_worker(Worker.notifier)


@serve.command("ranker")
def serve_ranker() -> None:
    """Run the ranker worker (scores, rankings, assessments)."""
    _serve_worker(Worker.ranker)


@app.command()
def run(
    host: Annotated[str, typer.Option(envvar="DUBAN_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="DUBAN_PORT")] = 8000,
    data_dir: Annotated[Path, typer.Option(envvar="DUBAN_DATA_DIR", help="Embedded data.")] = Path(".data"),
    stack: Annotated[str, typer.Option(envvar="DUBAN_DEV_STACK", help="auto | external | embedded")] = "auto",
) -> None:
    """Migrate, then run api + notifier + ranker until Ctrl-C (what `make run` does)."""
    from services.cli.supervisor import run as run_all

    configure_logging("run", "INFO", "text")
    raise typer.Exit(run_all(host=host, port=port, data_dir=data_dir.resolve(), mode=stack))


@app.command()
def migrate(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
    down: Annotated[bool, typer.Option("--down", help="Downgrade to REVISION instead.")] = False,
) -> None:
    """Apply the database migrations (a step of its own; the services never migrate)."""
    from services.api.migrate import downgrade, upgrade

    settings = _settings(DubanSettings)
    configure_logging("migrate", settings.log_level, "text")
    (downgrade if down else upgrade)(settings.database_url, revision)
    typer.echo(f"database {'downgraded' if down else 'migrated'} to {revision}")


@app.command()
def health(worker: Worker) -> None:
    """Exit 0 when the worker reported in recently, 1 otherwise (for container health checks)."""
    from shared.worker import check_health

    settings = _settings(NotifierSettings if worker is Worker.notifier else RankerSettings)
    code = asyncio.run(check_health(settings, Target(worker.value)))
    typer.echo(f"{worker.value}: {'healthy' if code == 0 else 'no recent health check'}")
    raise typer.Exit(code)


@app.command()
def bootstrap(
    office_code: Annotated[str, typer.Option(help="Code of the top office unit.")],
    office_name: Annotated[str, typer.Option(help="Name of the top office unit.")],
    admin_username: Annotated[str, typer.Option(help="First office admin's username.")],
    admin_password: Annotated[str, typer.Option(help="First office admin's password.")],
) -> None:
    """Create the top office and its first admin (arrives with units and sign-in)."""
    typer.echo(
        "duban bootstrap: units and users do not exist yet; this command is completed by the "
        "identity issue (units, people, sign-in). Nothing was changed.",
        err=True,
    )
    raise typer.Exit(3)


def main() -> None:
    app(prog_name="duban")


if __name__ == "__main__":
    sys.exit(main())
