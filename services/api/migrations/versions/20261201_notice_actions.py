"""notice actions: a unit's written feedback on a notice and the office's accepting it

notice_action is the api's record (one accept per notice); notice.state gains feedback_submitted.

Revision ID: 20261201_0016
Revises: 20261201_0015
Create Date: 2026-12-01 07:45:57.341858+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "20261201_0016"
down_revision: str | None = "20261201_0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notice_action",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('feedback', 'accept')", name=op.f("ck_notice_action_action")),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"], name=op.f("fk_notice_action_notice_id_notice")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_action")),
    )
    op.create_index(op.f("ix_notice_action_notice_id"), "notice_action", ["notice_id"], unique=False)
    op.create_index(
        "uq_notice_action_one_accept",
        "notice_action",
        ["notice_id"],
        unique=True,
        postgresql_where="action = 'accept'",
    )
    _state("state IN ('issued', 'feedback_submitted', 'superseded', 'closed')")


def _state(condition: str) -> None:
    op.drop_constraint(op.f("ck_notice_state"), "notice", type_="check")
    op.create_check_constraint("state", "notice", condition)


def downgrade() -> None:
    op.execute("UPDATE notice SET state = 'issued' WHERE state = 'feedback_submitted'")
    _state("state IN ('issued', 'superseded', 'closed')")
    op.drop_index(
        "uq_notice_action_one_accept", table_name="notice_action", postgresql_where="action = 'accept'"
    )
    op.drop_index(op.f("ix_notice_action_notice_id"), table_name="notice_action")
    op.drop_table("notice_action")
