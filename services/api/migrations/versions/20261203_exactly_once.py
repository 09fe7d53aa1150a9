"""exactly once under real use: a digest is claimed (leased) before it is sent; a notice counts
the recorded actions the notifier has applied to it, in their recorded order

Revision ID: 20261203_0026
Revises: 20261202_0025
Create Date: 2026-12-03 09:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203_0026"
down_revision: str | None = "20261202_0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("notice_digest", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("notice", sa.Column("actions_applied", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("notice", "actions_applied")
    op.drop_column("notice_digest", "claimed_until")
