"""notices and the chains they climb (the notifier's tables)

notice_chain: one per (rule, subject, period), with the ladder it opened under and the day its
next rung is due (a partial index over open chains); notice: one per (chain, level).

Revision ID: 20261201_0014
Revises: 20261201_0013
Create Date: 2026-12-01 07:16:03.510783+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261201_0014"
down_revision: str | None = "20261201_0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice_chain",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("subject_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("schedule_kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("recipient_unit_id", sa.Uuid(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("policy", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("last_issued_on", sa.Date(), nullable=True),
        sa.Column("next_level_on", sa.Date(), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("closed_reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("rule IN ('report_due')", name=op.f("ck_notice_chain_rule")),
        sa.CheckConstraint("state IN ('open', 'closed')", name=op.f("ck_notice_chain_state")),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_notice_chain_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_unit_id"], ["unit.id"], name=op.f("fk_notice_chain_recipient_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_chain")),
        sa.UniqueConstraint(
            "rule",
            "subject_type",
            "subject_id",
            "period",
            name=op.f("uq_notice_chain_rule_subject_type_subject_id_period"),
        ),
    )
    op.create_index(
        "ix_notice_chain_next",
        "notice_chain",
        ["next_level_on"],
        unique=False,
        postgresql_where="state = 'open'",
    )
    op.create_index(op.f("ix_notice_chain_program_id"), "notice_chain", ["program_id"], unique=False)
    op.create_index(
        op.f("ix_notice_chain_recipient_unit_id"), "notice_chain", ["recipient_unit_id"], unique=False
    )
    op.create_table(
        "notice",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("chain_id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("recipient_unit_id", sa.Uuid(), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("subject_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("requirements", sa.Text(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('reminder', 'urging', 'supervision', 'criticism', 'interview', 'accountability')",
            name=op.f("ck_notice_kind"),
        ),
        sa.CheckConstraint("state IN ('issued', 'superseded', 'closed')", name=op.f("ck_notice_state")),
        sa.ForeignKeyConstraint(
            ["chain_id"], ["notice_chain.id"], name=op.f("fk_notice_chain_id_notice_chain")
        ),
        sa.ForeignKeyConstraint(["parent_id"], ["notice.id"], name=op.f("fk_notice_parent_id_notice")),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"], name=op.f("fk_notice_program_id_program")),
        sa.ForeignKeyConstraint(
            ["recipient_unit_id"], ["unit.id"], name=op.f("fk_notice_recipient_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice")),
        sa.UniqueConstraint("chain_id", "level", name=op.f("uq_notice_chain_id_level")),
    )
    op.create_index(op.f("ix_notice_chain_id"), "notice", ["chain_id"], unique=False)
    op.create_index(op.f("ix_notice_program_id"), "notice", ["program_id"], unique=False)
    op.create_index("ix_notice_recipient_state", "notice", ["recipient_unit_id", "state"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_notice_recipient_state", table_name="notice")
    op.drop_index(op.f("ix_notice_program_id"), table_name="notice")
    op.drop_index(op.f("ix_notice_chain_id"), table_name="notice")
    op.drop_table("notice")
    op.drop_index(op.f("ix_notice_chain_recipient_unit_id"), table_name="notice_chain")
    op.drop_index(op.f("ix_notice_chain_program_id"), table_name="notice_chain")
    op.drop_index("ix_notice_chain_next", table_name="notice_chain", postgresql_where="state = 'open'")
    op.drop_table("notice_chain")
