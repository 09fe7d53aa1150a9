"""The filing function the database runs is exactly the text of its one source file."""

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.api.migrate import alembic_config
from services.api.reports import filing_sql

DEFINITION = (
    "SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
    "WHERE p.proname = 'file_project_report' AND n.nspname = :schema"
)


async def test_the_database_runs_the_function_in_its_sql_file(connection: AsyncConnection) -> None:
    """Create the file's function in a scratch schema and compare what PostgreSQL makes of both:
    any edit to the file without a migration (or a migration that no longer applies the file)
    shows up as a difference."""
    running = await connection.scalar(text(DEFINITION), {"schema": "public"})
    assert running is not None, "the database has no file_project_report function"
    await connection.execute(text("CREATE SCHEMA filing_sql_check"))
    await connection.execute(text("SET LOCAL search_path = filing_sql_check, public"))
    await connection.exec_driver_sql(filing_sql.function_sql())
    from_file = await connection.scalar(text(DEFINITION), {"schema": "filing_sql_check"})
    assert from_file is not None
    assert running == from_file.replace("filing_sql_check.file_project_report", "public.file_project_report")


def test_an_edit_of_the_sql_file_comes_with_a_migration_that_applies_it() -> None:
    """Deployed databases get a new function text only through a migration: the newest migration
    that applies the file names the hash of the file as it is now."""
    scripts = ScriptDirectory.from_config(alembic_config("postgresql://unused/"))
    for revision in scripts.walk_revisions():  # newest first
        written_for = getattr(revision.module, "FILING_SQL_SHA256", None)
        if written_for is not None:
            break
    else:
        raise AssertionError("no migration applies services/api/reports/file_project_report.sql")
    assert written_for == filing_sql.sha256(), (
        f"file_project_report.sql changed since migration {revision.revision}: add a migration that "
        f"calls filing_sql.apply(op.execute) with FILING_SQL_SHA256 = {filing_sql.sha256()!r}"
    )
