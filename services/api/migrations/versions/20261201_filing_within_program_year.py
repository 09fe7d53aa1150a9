"""file_project_report: a period outside the program's year or after the project's end is invalid

A 2018 project took reports for 2019-01 and 2026-12, and its investment to date rose. The function
now answers `invalid` for a period outside the program's year or after the project's end month
(before its start month it already did), and returns the program's year and the project's end
date so the api can say which months are allowed. Applied from
services/api/reports/file_project_report.sql, the function's one source.

Revision ID: 20261201_0011
Revises: 20261201_0010
Create Date: 2026-12-01 05:00:00+00:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

from services.api.reports import filing_sql

revision: str = "20261201_0011"
down_revision: str | None = "20261201_0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The file's text this migration was written for (tests/api/test_filing_sql.py).
FILING_SQL_SHA256 = "c5803e30fb5e07f5ebcd8cf81b728cb03f46e8412c227e944af22e9fa827fe8e"


def upgrade() -> None:
    filing_sql.apply(op.execute)


def downgrade() -> None:
    # Before this change the function was 20261124_0009's text, which 0010 only moved to the file.
    path = Path(__file__).with_name("20261201_filing_function_from_its_sql_file.py")
    spec = importlib.util.spec_from_file_location("duban_migration_20261201_0010", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    op.execute("DROP FUNCTION file_project_report")
    op.execute(module._function_of_0009())
