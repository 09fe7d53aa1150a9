"""year-end evaluations: the office's 年终考评 of responsible units, part of their annual score

Revision ID: 20261202_0025
Revises: 20261202_0024
Create Date: 2026-12-02 02:09:47.131939+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "20261202_0025"
down_revision: str | None = "20261202_0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "year_end_evaluation",
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("entered_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_year_end_evaluation_program_id_program")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_year_end_evaluation_unit_id_unit")),
        sa.PrimaryKeyConstraint("program_id", "year", "unit_id", name=op.f("pk_year_end_evaluation")),
    )


def downgrade() -> None:
    op.drop_table("year_end_evaluation")
