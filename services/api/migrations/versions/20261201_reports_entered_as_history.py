"""history the office enters: project reports with their original filing time

project_report.recorded_by_office marks a report the office entered afterwards with the time it was
filed on paper (`filed_at`); file_project_report takes that time as the filing's (for `late`, the
dues and the indicators) and the moment of recording for the audit row. Applied from
services/api/reports/file_project_report.sql.

Revision ID: 20261201_0013
Revises: 20261201_0012
Create Date: 2026-12-01 05:20:00+00:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

from services.api.reports import filing_sql

revision: str = "20261201_0013"
down_revision: str | None = "20261201_0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The file's text this migration was written for (tests/api/test_filing_sql.py).
FILING_SQL_SHA256 = "7e5d928f2049f0440a8e3f85a5a59feb1b798dcd250673dde1c2c4bdb610379a"


def upgrade() -> None:
    op.add_column(
        "project_report",
        sa.Column("recorded_by_office", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    filing_sql.apply(op.execute)


def downgrade() -> None:
    # The function as 20261201_0011 left it: 0009's text with the program-year check, which only
    # the file held; take 0009's (the year check goes with it) rather than guess.
    path = Path(__file__).with_name("20261201_filing_function_from_its_sql_file.py")
    spec = importlib.util.spec_from_file_location("duban_migration_20261201_0010", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    op.execute("DROP FUNCTION file_project_report")
    op.execute(module._function_of_0009())
    op.drop_column("project_report", "recorded_by_office")
