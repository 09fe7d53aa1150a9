"""Run the api's alembic migrations (the `duban migrate` command)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from shared.db import plain_url

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def alembic_config(database_url: object) -> Config:
    cfg = Config(str(ALEMBIC_INI))
    # ConfigParser interpolation: a '%' in a password must be doubled.
    cfg.set_main_option("sqlalchemy.url", plain_url(database_url).replace("%", "%%"))
    return cfg


def upgrade(database_url: object, revision: str = "head") -> None:
    """Bring the schema up to `revision`. Blocking: call from a thread inside an event loop."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: object, revision: str) -> None:
    """Take the schema back to `revision` (`base` removes everything)."""
    command.downgrade(alembic_config(database_url), revision)
