"""Async engine and session factory, made at start-up (never at import)."""

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from shared.settings import DubanSettings


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
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_pool_size,
        "pool_pre_ping": True,
        "connect_args": {"server_settings": {"application_name": f"duban-{settings.queue_prefix}"}},
    }
    options.update(kwargs)
    return create_async_engine(async_url(settings.database_url), **options)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
