"""Rater effects: a snapshot keeps each rating's adjusted score; rounds say how they normalize

New rounds default to `normalize: rater_effects` (shared.rounds.Aggregation). A round stored
without the key was scored raw, and keeps being: the key is written out as `none`.

Revision ID: 20261203_0030
Revises: 20261203_0029
Create Date: 2026-12-03 18:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261203_0030"
down_revision: str | None = "20261203_0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("snapshot_ratings", sa.Column("adjusted", postgresql.ARRAY(sa.Numeric()), nullable=True))
    op.execute(
        'UPDATE observation_round SET aggregation = aggregation || \'{"normalize": "none"}\' '
        "WHERE NOT aggregation ? 'normalize'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE observation_round SET aggregation = jsonb_set(aggregation, '{normalize}', '\"none\"') "
        "WHERE aggregation ->> 'normalize' = 'rater_effects'"
    )
    op.drop_column("snapshot_ratings", "adjusted")
