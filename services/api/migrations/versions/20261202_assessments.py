"""assessments: published half-year and annual assessments of a program's responsible units

Revision ID: 20261202_0024
Revises: 20261202_0023
Create Date: 2026-12-02 01:07:10.409282+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261202_0024"
down_revision: str | None = "20261202_0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assessment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("half", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_assessment_program_id_program")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment")),
        sa.UniqueConstraint(
            "program_id", "year", "half", "version", name=op.f("uq_assessment_program_id_year_half_version")
        ),
    )
    op.create_index(op.f("ix_assessment_program_id"), "assessment", ["program_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_assessment_program_id"), table_name="assessment")
    op.drop_table("assessment")
