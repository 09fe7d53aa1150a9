"""file_project_report from its one readable source, services/api/reports/file_project_report.sql

Migrations 0007-0009 built the function by patching the previous migration's text; what ran could
only be read by applying those patches in one's head. The function's whole text now lives in one
file, and this migration creates it from that file (the same function 0009 left: the file holds
0009's result, word for word). A later change edits the file and adds a migration that applies it
again; the earlier migrations stay as they are.

Also: CHECK constraints for the vocabularies (shared/vocabulary.py) on the columns that hold them,
and a problem taken to a higher meeting is "referred" (it was "escalated", a word the notices'
escalation ladder now owns).

Revision ID: 20261201_0010
Revises: 20261124_0009
Create Date: 2026-12-01 04:00:00+00:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

from services.api.reports import filing_sql
from shared.vocabulary import CHECKS

revision: str = "20261201_0010"
down_revision: str | None = "20261124_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The file's text this migration was written for: the newest migration that applies the file
# must name its current hash (tests/api/test_filing_sql.py), so an edit without a migration fails.
FILING_SQL_SHA256 = "058f7ebad7d4ec3b025885bd94541b1dfe1d849a726532f68a5b9b87cd2ce671"


# Checks this migration adds; the others replace checks of 20261123 with the same meaning.
# The tables there were when this migration was written.
_TABLES = {"unit", "app_user", "project", "task_unit", "task_target", "unit_report", "problem",
           "problem_event", "webhook", "webhook_delivery"}  # fmt: skip
_NEW_CHECKS = (("app_user", "roles"), ("problem_event", "action"), ("webhook", "events"))
_LATER_CHECKS = {("app_user", "duties")}  # on columns later migrations add, with their checks


def _function_of_0009() -> str:
    path = Path(__file__).with_name("20261124_filing_stamps_in_version_order.py")
    spec = importlib.util.spec_from_file_location("duban_migration_20261124_0009", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module._current(module._previous()))


def upgrade() -> None:
    filing_sql.apply(op.execute)
    op.execute("UPDATE problem_event SET action = 'referred' WHERE action = 'escalated'")
    for table, name, condition in CHECKS:  # the earlier ones again, from the vocabulary's words
        if table not in _TABLES or (table, name) in _LATER_CHECKS:
            continue  # a table or column a later migration creates, with its checks
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS ck_{table}_{name}")
        op.create_check_constraint(name, table, condition)


def downgrade() -> None:
    for table, name in _NEW_CHECKS:  # the others say what they said before, in the same words
        op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.execute("UPDATE problem_event SET action = 'escalated' WHERE action = 'referred'")
    op.execute("DROP FUNCTION file_project_report")
    op.execute(_function_of_0009())
