"""notice parent index: removing a notice checks the notice each one escalated from

notice.parent_id is a foreign key to notice.id; without an index, every delete of a notice
(undoing a sweep, a test's teardown, a retention purge) scans the whole notice table to check
that nothing still points at it.

Revision ID: 20261201_0021
Revises: 20261201_0020
Create Date: 2026-12-01 15:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261201_0021"
down_revision: str | None = "20261201_0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_notice_parent", "notice", ["parent_id"], postgresql_where="parent_id IS NOT NULL")


def downgrade() -> None:
    op.drop_index("ix_notice_parent", table_name="notice", postgresql_where="parent_id IS NOT NULL")
