"""The text of the database function that files a project monthly report, and how a migration
applies it. `file_project_report.sql` beside this file is its one source (see its header)."""

import hashlib
from pathlib import Path

SQL_FILE = Path(__file__).with_name("file_project_report.sql")


def function_sql() -> str:
    """The CREATE FUNCTION statement, as the file holds it now."""
    return SQL_FILE.read_text(encoding="utf-8")


def sha256() -> str:
    return hashlib.sha256(SQL_FILE.read_bytes()).hexdigest()


def apply(execute: object) -> None:
    """Drop the function (whatever its result columns were) and create it from the file.
    `execute` runs one SQL statement: alembic's `op.execute`, or a connection's."""
    run = execute  # typed loosely: alembic's op and a DB-API cursor both take a string
    run("DROP FUNCTION IF EXISTS file_project_report")  # type: ignore[operator]
    run(function_sql())  # type: ignore[operator]
