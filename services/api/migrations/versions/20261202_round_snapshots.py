"""round snapshots: the ranker's immutable, versioned results of a round and the ratings each
used; the version of a round the office published

Revision ID: 20261202_0023
Revises: 20261202_0022
Create Date: 2026-12-02 00:48:48.359392+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261202_0023"
down_revision: str | None = "20261202_0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "round_snapshot",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"], ["observation_round.id"], name=op.f("fk_round_snapshot_round_id_observation_round")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_snapshot")),
        sa.UniqueConstraint("round_id", "version", name=op.f("uq_round_snapshot_round_id_version")),
    )
    op.create_index(op.f("ix_round_snapshot_round_id"), "round_snapshot", ["round_id"], unique=False)
    op.create_table(
        "snapshot_ratings",
        sa.Column("snapshot_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("inspector_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("scores", postgresql.ARRAY(sa.Numeric()), nullable=False),
        sa.Column("z", postgresql.ARRAY(sa.Numeric()), nullable=False),
        sa.Column("complete", postgresql.ARRAY(sa.Boolean()), nullable=False),
        sa.Column("trimmed", postgresql.ARRAY(sa.Boolean()), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["round_snapshot.id"],
            name=op.f("fk_snapshot_ratings_snapshot_id_round_snapshot"),
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "project_id", name=op.f("pk_snapshot_ratings")),
    )
    op.add_column("observation_round", sa.Column("published_version", sa.Integer(), nullable=True))
    op.add_column("observation_round", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "observation_round",
        sa.Column("published_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("observation_round", "published_by")
    op.drop_column("observation_round", "published_at")
    op.drop_column("observation_round", "published_version")
    op.drop_table("snapshot_ratings")
    op.drop_index(op.f("ix_round_snapshot_round_id"), table_name="round_snapshot")
    op.drop_table("round_snapshot")
