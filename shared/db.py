"""Async engine and session factory, made at start-up (never at import)."""

import logging
import time
from typing import Any

import asyncpg
from sqlalchemy import Select, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.settings import DubanSettings

log = logging.getLogger(__name__)

# A SELECT of any columns (SQLAlchemy 2.1's Select is generic over its row's types).
AnySelect = Select[*tuple[Any, ...]]


def async_url(url: object) -> str:
    """The URL with the asyncpg driver, whatever scheme it was given in."""
    u = make_url(str(url))
    return u.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def plain_url(url: object) -> str:
    """The URL as libpq and bare asyncpg take it (`postgresql://`)."""
    u = make_url(str(url))
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(settings: DubanSettings, **kwargs: object) -> AsyncEngine:
    """An asyncpg engine sized by the settings."""
    options: dict[str, object] = {
        # A fixed set of connections: overflow ones are closed on return whenever the pool is
        # full, so under steady load they are opened and closed again for every few requests.
        "pool_size": settings.db_pool_size,
        "max_overflow": 0,
        # Checked before use only after sitting idle (below), not on every checkout.
        "pool_pre_ping": False,
        "connect_args": {"server_settings": {"application_name": f"duban-{settings.queue_prefix}"}},
    }
    options.update(kwargs)
    engine = create_async_engine(async_url(settings.database_url), **options)
    ping_when_idle(engine, settings.db_ping_idle_seconds)
    return engine


def ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Check a pooled connection with one round trip when it has sat unused for `idle_seconds`.

    SQLAlchemy's `pool_pre_ping` checks on every checkout, and its asyncpg dialect does so with
    three round trips (BEGIN, a query, ROLLBACK): under load that is three more per request, for
    connections used milliseconds before. A connection the server dropped while it sat idle
    (a restart, an idle timeout, a failover) is found here and replaced before a request gets it.
    One dropped while in steady use fails the statement it runs; SQLAlchemy then replaces every
    connection that pool had opened before that moment, so the next requests get fresh ones.
    """
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _returned(dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _check(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_seconds:
            return  # new, or in steady use
        try:
            dbapi_connection.run_async(lambda conn: conn.execute("SELECT 1"))
        except Exception as exc:  # the pool drops this connection and checks out another
            raise DisconnectionError(f"pooled connection failed its check: {exc!r}") from exc


# A database too busy for this transaction, not a fault of the request: it was chosen as a
# deadlock's victim or lost a serialization race (rolled back whole: running it again is safe),
# or the server has no connection to give (max_connections reached, starting or stopping).
RERUN = ("40P01", "40001")  # deadlock_detected, serialization_failure
BUSY = (*RERUN, "53300", "57P03")  # …, too_many_connections, cannot_connect_now


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error, through SQLAlchemy's and the driver's wrappers."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return None
        code = getattr(seen, "sqlstate", None)
        if isinstance(code, str):
            return code
        seen = getattr(seen, "orig", None) or seen.__cause__
    return None


def busy(exc: BaseException) -> bool:
    """Whether `exc` is the database being busy: worth a retry, never a 500."""
    return sqlstate(exc) in BUSY


def rerun(exc: BaseException) -> bool:
    """Whether `exc` rolled back a transaction that may simply run again."""
    return sqlstate(exc) in RERUN


class PoolTooLarge(RuntimeError):
    """The server could never hold this process's pool: refuse to start rather than fail later."""


_ROOM = text(
    "SELECT current_setting('max_connections')::int "
    "- current_setting('superuser_reserved_connections')::int, "
    "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')"
)


async def check_pool_fits(engine: AsyncEngine, pool_size: int, process: str) -> None:
    """Fail at start when `max_connections` (less the superusers' reserve) is smaller than this
    process's pool; warn when fewer connections are free now than the pool may take. A server
    not reachable yet is readiness's business, not this check's."""
    try:
        async with engine.connect() as conn:
            usable, in_use = (await conn.execute(_ROOM)).one()
    except (OSError, DBAPIError) as exc:
        log.warning("could not check the connection budget", extra={"error": repr(exc)})
        return
    if pool_size > usable:
        raise PoolTooLarge(
            f"{process}: DUBAN_DB_POOL_SIZE={pool_size} but the server takes at most {usable} connections "
            f"(max_connections less superuser_reserved_connections); lower the pool or raise max_connections"
        )
    if pool_size > usable - in_use + 1:
        log.warning(
            "the database may run out of connections",
            extra={"process": process, "pool_size": pool_size, "usable": usable, "in_use": in_use},
        )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def driver_connection(session: AsyncSession, *, begin: bool = True) -> asyncpg.Connection:
    """The session's own asyncpg connection, for the few hot paths where SQLAlchemy's per-call
    work costs more than the round trip. Statements run on it commit or roll back with the
    session (and with whatever the session itself wrote) — unless `begin` is false and the
    session has no transaction yet: then each statement commits on its own, one round trip
    with no BEGIN or COMMIT (for a request whose whole write is that one statement)."""
    connection = await session.connection()
    adapted = (await connection.get_raw_connection()).dbapi_connection
    # SQLAlchemy's asyncpg adapter sends BEGIN lazily, at its first statement; begin now so that
    # what runs on the driver is inside the transaction the session will commit.
    if begin and adapted._transaction is None:  # type: ignore[union-attr]
        await adapted._start_transaction()  # type: ignore[union-attr]
    return adapted.driver_connection  # type: ignore[union-attr]
