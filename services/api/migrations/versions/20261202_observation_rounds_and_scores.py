"""observation rounds and scores: rounds, their projects and inspectors, standing scores and
the receipts of every score a phone sent (by its client_id)

Revision ID: 20261202_0022
Revises: 20261201_0021
Create Date: 2026-12-02 00:41:32.398638+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261202_0022"
down_revision: str | None = "20261201_0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "observation_round",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("quarter", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("grace_hours", sa.Integer(), nullable=False),
        sa.Column("rubric", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("aggregation", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("observation_weight", sa.Numeric(), nullable=False),
        sa.Column("objective_weights", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tie_break", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("praise_top", sa.Integer(), nullable=False),
        sa.Column("criticise_bottom", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('draft', 'open', 'closed', 'ranked', 'published')",
            name=op.f("ck_observation_round_state"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_observation_round_program_id_program")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observation_round")),
    )
    op.create_index(
        op.f("ix_observation_round_program_id"), "observation_round", ["program_id"], unique=False
    )
    op.create_table(
        "observation_score",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("inspector_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("criterion", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sa.Numeric(precision=12, scale=4), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspector_id"], ["app_user.id"], name=op.f("fk_observation_score_inspector_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_observation_score_project_id_project")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["observation_round.id"],
            name=op.f("fk_observation_score_round_id_observation_round"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_observation_score")),
        sa.UniqueConstraint(
            "round_id",
            "inspector_id",
            "project_id",
            "criterion",
            name=op.f("uq_observation_score_round_id_inspector_id_project_id_criterion"),
        ),
    )
    op.create_table(
        "round_inspector",
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"], ["observation_round.id"], name=op.f("fk_round_inspector_round_id_observation_round")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_round_inspector_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("round_id", "user_id", name=op.f("pk_round_inspector")),
    )
    op.create_index(op.f("ix_round_inspector_user_id"), "round_inspector", ["user_id"], unique=False)
    op.create_table(
        "round_project",
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_round_project_project_id_project")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["observation_round.id"], name=op.f("fk_round_project_round_id_observation_round")
        ),
        sa.PrimaryKeyConstraint("round_id", "project_id", name=op.f("pk_round_project")),
    )
    op.create_index(op.f("ix_round_project_project_id"), "round_project", ["project_id"], unique=False)
    op.create_table(
        "score_receipt",
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("inspector_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"], ["observation_round.id"], name=op.f("fk_score_receipt_round_id_observation_round")
        ),
        sa.PrimaryKeyConstraint("round_id", "inspector_id", "client_id", name=op.f("pk_score_receipt")),
    )


def downgrade() -> None:
    op.drop_table("score_receipt")
    op.drop_index(op.f("ix_round_project_project_id"), table_name="round_project")
    op.drop_table("round_project")
    op.drop_index(op.f("ix_round_inspector_user_id"), table_name="round_inspector")
    op.drop_table("round_inspector")
    op.drop_table("observation_score")
    op.drop_index(op.f("ix_observation_round_program_id"), table_name="observation_round")
    op.drop_table("observation_round")
