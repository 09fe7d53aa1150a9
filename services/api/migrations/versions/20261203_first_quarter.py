"""the office's first quarter: the office withdraws a notice issued by mistake (a notice action,
a chain's close reason); a program's year is closed; a project is carried over; an account's
one-time password, and the instant before which its tokens are refused; unit reports entered as
history; scores entered from paper sheets

Revision ID: 20261203_0028
Revises: 20261203_0027
Create Date: 2026-12-03 16:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203_0028"
down_revision: str | None = "20261203_0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIONS = ["feedback", "explanation", "accept", "reject"]
REASONS = [
    "report_filed", "milestone_met", "problem_resolved", "caught_up", "moving_again",
    "rule_switched_off", "feedback_accepted", "praised", "no_rung",
]  # fmt: skip


def _check(table: str, column: str, words: list[str]) -> None:
    op.drop_constraint(op.f(f"ck_{table}_{column}"), table, type_="check")
    op.create_check_constraint(column, table, f"{column} IN ({', '.join(repr(w) for w in words)})")


def upgrade() -> None:
    _check("notice_action", "action", [*ACTIONS, "withdraw"])
    _check("notice_chain", "closed_reason", [*REASONS, "withdrawn", "program_closed"])
    op.add_column("program", sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("program", sa.Column("closed_by", sa.String(length=80), nullable=True))
    op.add_column("program", sa.Column("closed_reason", sa.Text(), nullable=True))
    op.add_column("project", sa.Column("carried_from_id", sa.Uuid(), nullable=True))
    op.add_column(
        "app_user", sa.Column("must_change_password", sa.Boolean(), server_default="false", nullable=False)
    )
    op.add_column("app_user", sa.Column("tokens_valid_after", sa.DateTime(timezone=True), nullable=True))
    op.add_column("app_user", sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.add_column(
        "unit_report", sa.Column("recorded_by_office", sa.Boolean(), server_default="false", nullable=False)
    )
    op.add_column(
        "observation_score",
        sa.Column("entered_by_office", sa.Boolean(), server_default="false", nullable=False),
    )
    op.create_foreign_key(
        op.f("fk_project_carried_from_id_project"), "project", "project", ["carried_from_id"], ["id"]
    )


def downgrade() -> None:
    op.drop_column("observation_score", "entered_by_office")
    op.drop_column("unit_report", "recorded_by_office")
    op.drop_column("app_user", "version")
    op.drop_column("app_user", "tokens_valid_after")
    op.drop_column("app_user", "must_change_password")
    op.drop_constraint(op.f("fk_project_carried_from_id_project"), "project", type_="foreignkey")
    op.drop_column("project", "carried_from_id")
    op.drop_column("program", "closed_reason")
    op.drop_column("program", "closed_by")
    op.drop_column("program", "closed_at")
    op.execute("DELETE FROM notice_action WHERE action = 'withdraw'")
    op.execute(
        "UPDATE notice_chain SET closed_reason = 'feedback_accepted' WHERE closed_reason = 'withdrawn'"
    )
    _check("notice_chain", "closed_reason", REASONS)
    _check("notice_action", "action", ACTIONS)
