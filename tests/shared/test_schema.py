"""The migrations build exactly the tables the models describe (no drift either way)."""

import re
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.models import metadata
from shared.vocabulary import CHECKS


async def test_the_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    def diff(sync_conn: Any) -> list[Any]:
        return compare_metadata(MigrationContext.configure(sync_conn), metadata)

    async with engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == [], f"models and migrations differ; write a migration for: {changes}"


async def test_the_database_checks_each_vocabulary_with_its_words(engine: AsyncEngine) -> None:
    """shared/vocabulary.py is the one list of words: each CHECK it names exists, and admits every
    word of its vocabulary (a word added without a migration would be refused by the database)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'c' AND conname LIKE 'ck_%'"
            )
        )
        found = {name: definition for name, definition in rows}
    for table, name, condition in CHECKS:
        definition = found.get(f"ck_{table}_{name}")
        assert definition is not None, f"no check ck_{table}_{name}"
        words = re.findall(r"'([^']+)'", condition)
        assert words and all(f"'{w}'" in definition for w in words), (table, name, definition)
