"""file_project_report: a version is never stamped before the one it follows

The caller reads its clock before the filing waits for the project's row lock, so when two
filings of one period raced, the one that waited became version n+1 with a stamp a few
milliseconds earlier than version n's. Now a filing is stamped no earlier than the version
before it (and is late or on time by that stamp), so within a period the stamps rise with the
versions and version 1 is the first filed: what is owed reads it off the unique (project,
period, version) index instead of grouping every report of the program for the earliest stamp.

The stamp is returned (o_submitted_at): a new result column, so the function is dropped and
created again. It is the one of 20261124_0008 with the version statement and the report's
stamp replaced.

Revision ID: 20261124_0009
Revises: 20261124_0008
Create Date: 2026-11-24 20:00:00+00:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "20261124_0009"
down_revision: str | None = "20261124_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _previous() -> str:
    path = Path(__file__).with_name("20261124_filing_reads_per_period.py")
    spec = importlib.util.spec_from_file_location("duban_migration_20261124_0008", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module._current(module._previous()))


_REPLACED = {
    """OUT o_due_at timestamptz, OUT o_due_complete boolean, OUT o_late boolean""": (
        """OUT o_due_at timestamptz, OUT o_due_complete boolean, OUT o_late boolean,
    OUT o_submitted_at timestamptz"""
    ),
    # the next version and its stamp: one step down the unique index
    """o_version := coalesce((SELECT r.version FROM project_report r
                               WHERE r.project_id = p_project_id AND r.period = p_period
                               ORDER BY r.version DESC LIMIT 1), 0) + 1;
    o_late := coalesce(p_now > o_due_at, false);""": (
        """SELECT r.version, greatest(p_now, r.submitted_at) INTO o_version, o_submitted_at
      FROM project_report r WHERE r.project_id = p_project_id AND r.period = p_period
     ORDER BY r.version DESC LIMIT 1;
    o_version := coalesce(o_version, 0) + 1;
    o_submitted_at := coalesce(o_submitted_at, p_now);
    o_late := coalesce(o_submitted_at > o_due_at, false);"""
    ),
    """o_due_at, o_due_complete, o_late, p_by, p_now);""": (
        """o_due_at, o_due_complete, o_late, p_by, o_submitted_at);"""
    ),
}


def _current(previous: str) -> str:
    function = previous
    for old, new in _REPLACED.items():
        assert function.count(old) == 1, f"20261124_0008 no longer holds: {old}"
        function = function.replace(old, new)
    return function


def upgrade() -> None:
    op.execute("DROP FUNCTION file_project_report")
    op.execute(_current(_previous()))


def downgrade() -> None:
    op.execute("DROP FUNCTION file_project_report")
    op.execute(_previous())
