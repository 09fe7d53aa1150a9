"""The `duban` command line: serve, run, migrate, health, bootstrap."""

import asyncio
import gc
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from shared.logging import configure_logging
from shared.queues import Target
from shared.settings import (
    ApiSettings,
    BootstrapSettings,
    DubanSettings,
    MigrateSettings,
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
    app = create_app(settings)
    # What start-up built (routes, schemas, models) lives as long as the process: move it out of
    # the collector's sight, so a full collection under load walks only what requests allocate
    # (it took ~70 ms and more, a p99 spike each time).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
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
    from shared.worker import run_forever

    if worker is Worker.notifier:
        from services.notifier.worker import create_worker as notifier

        notifier_settings = _settings(NotifierSettings)
        configure_logging(worker.value, notifier_settings.log_level, notifier_settings.log_format)
        run_forever(lambda: notifier(notifier_settings), service=worker.value)
    else:
        from services.ranker.worker import create_worker as ranker

        ranker_settings = _settings(RankerSettings)
        configure_logging(worker.value, ranker_settings.log_level, ranker_settings.log_format)
        run_forever(lambda: ranker(ranker_settings), service=worker.value)


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

    settings = _settings(MigrateSettings)
    configure_logging("migrate", settings.log_level, "text")
    (downgrade if down else upgrade)(settings.database_url, revision)
    typer.echo(f"database {'downgraded' if down else 'migrated'} to {revision}")


class Checked(StrEnum):
    api = "api"
    notifier = "notifier"
    ranker = "ranker"


@app.command()
def health(service: Checked) -> None:
    """Exit 0 when the service is well, 1 otherwise (for container health checks): the api when
    its /readyz on DUBAN_PORT answers 200, a worker when it reported in recently."""
    if service is Checked.api:
        import httpx

        port = _settings(ApiSettings).port
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=3)
            code, said = (
                (0, "ready") if answer.status_code == 200 else (1, f"not ready ({answer.status_code})")
            )
        except httpx.HTTPError as e:
            code, said = 1, f"no answer on port {port} ({type(e).__name__})"
        typer.echo(f"api: {said}")
        raise typer.Exit(code)
    from shared.worker import check_health

    settings = _settings(NotifierSettings if service is Checked.notifier else RankerSettings)
    code = asyncio.run(check_health(settings, Target(service.value), bulk=service is Checked.notifier))
    typer.echo(f"{service.value}: {'healthy' if code == 0 else 'no recent health check'}")
    raise typer.Exit(code)


@app.command()
def bootstrap(
    office_code: Annotated[str, typer.Option(help="Code of the top office unit.")],
    office_name: Annotated[str, typer.Option(help="Name of the top office unit.")],
    admin_username: Annotated[str, typer.Option(help="First office admin's username.")],
    admin_password: Annotated[
        str, typer.Option(help="First office admin's password.", envvar="DUBAN_ADMIN_PASSWORD")
    ],
) -> None:
    """Create the top office and its first admin; running it again changes nothing."""
    from pydantic import ValidationError

    from services.api.bootstrap import bootstrap as run_bootstrap
    from services.api.units.phone import PhoneBox
    from shared.db import create_engine, session_factory
    from shared.errors import DomainError

    settings = _settings(BootstrapSettings)

    async def go() -> str:
        engine = create_engine(settings)
        try:
            async with session_factory(engine)() as session, session.begin():
                outcome = await run_bootstrap(
                    session,
                    office_code=office_code,
                    office_name=office_name,
                    username=admin_username,
                    password=admin_password,
                    box=PhoneBox(settings.secret_key.get_secret_value()),
                )
        finally:
            await engine.dispose()
        office = "created" if outcome.office_created else "already there"
        admin = "created" if outcome.admin_created else "already there"
        return f"office {office_code}: {office}; admin {admin_username}: {admin}"

    try:
        typer.echo(asyncio.run(go()))
    except DomainError as exc:
        typer.echo(f"duban bootstrap: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        typer.echo(f"duban bootstrap: {problems}", err=True)
        raise typer.Exit(2) from None


notifier_cli = typer.Typer(help="Urging and supervision notices.")
app.add_typer(notifier_cli, name="notifier")


@notifier_cli.command("sweep")
def notifier_sweep(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="The instant to sweep as of (RFC 3339; a date means its 09:00, Beijing time)."
        ),
    ] = None,
) -> None:
    """Issue every notice due as of an instant (default now), close the chains whose report
    was filed, and send the day's digests (outside quiet hours), as the notifier's cron does; run
    it day by day to replay a past quarter. Running it twice issues and sends nothing twice."""
    import json
    from datetime import date, datetime, time

    from services.notifier.channels import load_channels
    from services.notifier.delivery import deliver
    from services.notifier.sweep import sweep
    from shared import clock
    from shared.clock import OFFICE_TZ
    from shared.crypto import SecretBox
    from shared.db import create_engine, session_factory

    settings = _settings(NotifierSettings)
    configure_logging("notifier", settings.log_level, settings.log_format)  # the `log` channel's digests
    if as_of is None:
        at = clock.now()
    elif len(as_of) == 10:
        at = datetime.combine(date.fromisoformat(as_of), time(9), OFFICE_TZ)
    else:
        at = datetime.fromisoformat(as_of)
        at = at if at.tzinfo else at.replace(tzinfo=OFFICE_TZ)

    async def go() -> dict[str, int]:
        engine = create_engine(settings)
        sessions = session_factory(engine)
        phones = SecretBox(settings.secret_key.get_secret_value(), "phone")
        try:
            done = await sweep(sessions, at)
            return done | await deliver(
                sessions, load_channels(settings), phones, at,
                max_attempts=settings.delivery_max_attempts, base_url=settings.base_url,
            )  # fmt: skip
        finally:
            await engine.dispose()

    typer.echo(json.dumps({"as_of": at.isoformat(), **asyncio.run(go())}))


ranker_cli = typer.Typer(help="Observation round results and assessments.")
app.add_typer(ranker_cli, name="ranker")


@ranker_cli.command("run")
def ranker_run(
    round_id: Annotated[str, typer.Option("--round", help="The observation round's id.")],
) -> None:
    """Compute a closed round's results now. The same scores give the same snapshot (kept once);
    changed scores give a new version; a published version is never changed."""
    import json
    import uuid

    from services.ranker.scoring import rank_round
    from shared.db import create_engine, session_factory

    settings = _settings(RankerSettings)
    try:
        wanted = uuid.UUID(round_id)
    except ValueError:
        typer.echo(f"duban ranker run: {round_id!r} is not a round id (a UUID)", err=True)
        raise typer.Exit(2) from None

    async def go() -> dict[str, object] | None:
        engine = create_engine(settings)
        try:
            snapshot = await rank_round(session_factory(engine), wanted)
            return None if snapshot is None else {"version": snapshot.version, "digest": snapshot.digest}
        finally:
            await engine.dispose()

    done = asyncio.run(go())
    if done is None:
        typer.echo(f"duban ranker run: there is no closed round {wanted}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps({"round_id": str(wanted), **done}))


audit_cli = typer.Typer(help="The tamper-evident audit log.")
app.add_typer(audit_cli, name="audit")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Chain the rows waiting for a hash, then recompute the whole chain; exit 1 naming the
    first altered, removed or reordered row."""
    from shared.audit import chain_all, verify
    from shared.db import create_engine, session_factory

    settings = _settings(MigrateSettings)

    async def go() -> tuple[int, int, object]:
        engine = create_engine(settings)
        try:
            async with session_factory(engine)() as session:
                chained = await chain_all(session)
                return chained, *await verify(session)
        finally:
            await engine.dispose()

    chained, checked, finding = asyncio.run(go())
    if chained:
        typer.echo(f"chained {chained} rows that were waiting for their hash")
    if finding is None:
        typer.echo(f"audit log intact: {checked} rows verified")
        return
    typer.echo(f"audit log BROKEN at row {finding.id}: {finding.problem}", err=True)  # type: ignore[attr-defined]
    raise typer.Exit(1)


def _unreachable(exc: BaseException) -> str | None:
    """What to tell an operator, in one line, when a command could not reach PostgreSQL or Redis
    (or the database had no connection to give); None for anything else (a bug: the traceback)."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DBAPIError

    from shared.db import busy

    if busy(exc):
        return "the database has no connection to give right now (it is busy); try again in a moment"
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return f"Redis cannot be reached: {exc}"
    if isinstance(exc, DBAPIError):
        said = str(exc.orig or exc).strip().splitlines()[0]
        return f"the database refused or cannot be reached: {said}"
    if isinstance(exc, OSError):
        return f"the database cannot be reached: {exc}"
    return None


def main() -> None:
    try:
        app(prog_name="duban")
    except Exception as exc:
        said = _unreachable(exc)
        if said is None:
            raise
        typer.echo(f"duban: {said}", err=True)
        raise SystemExit(75) from None  # EX_TEMPFAIL: run it again once the dependency is back


if __name__ == "__main__":
    main()
