"""file_project_report: the investment to date and the next version read only what they need

A project refiled many times in one period (a county correcting its form before the 22nd) made
every later filing slower: the investment-to-date sum scanned every version of every period,
the filed one included, only to drop that period; the next version number counted every version
of the period. Now the sum reads the other periods by two index ranges (before and after the
filed one) and the version is one step down the (project, period, version) index.

That unique index serves every read of a project's reports, so the (project, period,
submitted_at) index beside it goes: one index fewer to write at each filing.

The function is the one of 20261124_0007 with those two statements replaced (same arguments,
same results).

Revision ID: 20261124_0008
Revises: 20261124_0007
Create Date: 2026-11-24 18:00:00+00:00
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "20261124_0008"
down_revision: str | None = "20261124_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _previous() -> str:
    path = Path(__file__).with_name("20261124_file_project_report_in_one_statement.py")
    spec = importlib.util.spec_from_file_location("duban_migration_20261124_0007", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.FILE_PROJECT_REPORT)


_REPLACED = {
    # the sum: the other periods only, each period's latest version
    """WHERE r.project_id = p_project_id AND r.period <> p_period""": (
        """WHERE r.project_id = p_project_id AND (r.period < p_period OR r.period > p_period)"""
    ),
    # the next version: the period's highest, read off the end of the unique index
    """SELECT coalesce(max(r.version), 0) + 1 INTO o_version
      FROM project_report r WHERE r.project_id = p_project_id AND r.period = p_period;""": (
        """o_version := coalesce((SELECT r.version FROM project_report r
                               WHERE r.project_id = p_project_id AND r.period = p_period
                               ORDER BY r.version DESC LIMIT 1), 0) + 1;"""
    ),
}


def _current(previous: str) -> str:
    function = previous
    for old, new in _REPLACED.items():
        assert function.count(old) == 1, f"20261124_0007 no longer holds: {old}"
        function = function.replace(old, new)
    return function


def upgrade() -> None:
    op.execute(_current(_previous()))
    op.drop_index("ix_project_report_project_period", table_name="project_report")


def downgrade() -> None:
    op.create_index(
        "ix_project_report_project_period", "project_report", ["project_id", "period", "submitted_at"]
    )
    op.execute(_previous())
