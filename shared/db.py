"""Async engine and session factory, made at start-up (never at import)."""

import time
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.settings import DubanSettings

_ASYNCPG = PGDialect_asyncpg()


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


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


class Compiled:
    """A Core statement compiled once for asyncpg, then run straight on the driver connection.

    For the few hot write paths where SQLAlchemy's per-call work (cache key, compile lookup,
    result machinery) costs more CPU than the round trip itself. Bind parameters are passed by
    name; values bound when the statement was built (a visibility prefix, say) are kept. JSONB
    values are passed already serialized (`json.dumps`), as the engine's codec expects.
    """

    def __init__(self, stmt: Any) -> None:
        compiled = stmt.compile(dialect=_ASYNCPG)
        self.sql: str = compiled.string
        self._order: tuple[str, ...] = tuple(compiled.positiontup or ())
        self._bound: dict[str, Any] = {
            name: bind.effective_value for bind, name in compiled.bind_names.items() if not bind.required
        }

    def args(self, values: dict[str, Any]) -> list[Any]:
        return [values[name] if name in values else self._bound[name] for name in self._order]

    async def fetchval(self, conn: asyncpg.Connection, **values: Any) -> Any:
        return await conn.fetchval(self.sql, *self.args(values))

    async def fetchrow(self, conn: asyncpg.Connection, **values: Any) -> asyncpg.Record | None:
        return await conn.fetchrow(self.sql, *self.args(values))

    async def execute(self, conn: asyncpg.Connection, **values: Any) -> None:
        await conn.execute(self.sql, *self.args(values))


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    """The session's own asyncpg connection, inside the session's transaction: statements run on
    it commit or roll back with the session (and with whatever the session itself wrote)."""
    connection = await session.connection()
    adapted = (await connection.get_raw_connection()).dbapi_connection
    # SQLAlchemy's asyncpg adapter sends BEGIN lazily, at its first statement; begin now so that
    # what runs on the driver is inside the transaction the session will commit.
    if adapted._transaction is None:  # type: ignore[union-attr]
        await adapted._start_transaction()  # type: ignore[union-attr]
    return adapted.driver_connection  # type: ignore[union-attr,return-value]
