"""Bulletins: published monthly and observation bulletins, each program's Word template; the
bulletin.published event and the ranking_streak and red_light notice rules

Revision ID: 20261205_0033
Revises: 20261204_0032
Create Date: 2026-12-05 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0033"
down_revision: str | None = "20261204_0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RULES = ("'report_due', 'manual', 'milestone_due', 'problem_overdue', 'investment_behind', "
          "'not_moving', 'moving_slowly', 'ranking', 'assessment'")  # fmt: skip
_EVENTS = ("'project.approved', 'report.instant', 'notice.issued', 'notice.closed', "
           "'round.published', 'assessment.published'")  # fmt: skip

_CLOSED = ("'report_filed', 'milestone_met', 'problem_resolved', 'caught_up', 'moving_again', "
           "'rule_switched_off', 'feedback_accepted', 'praised', 'no_rung', 'withdrawn', "
           "'program_closed'")  # fmt: skip


def _check(table: str, name: str, condition: str) -> None:
    op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.create_check_constraint(name, table, condition)


def upgrade() -> None:
    op.create_table(
        "bulletin",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('monthly', 'round')", name=op.f("ck_bulletin_kind")),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"], name=op.f("fk_bulletin_program_id_program")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulletin")),
        sa.UniqueConstraint(
            "program_id", "kind", "period", "version", name=op.f("uq_bulletin_program_id_kind_period_version")
        ),
    )
    op.create_index(op.f("ix_bulletin_program_id"), "bulletin", ["program_id"], unique=False)
    op.create_table(
        "bulletin_template",
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("uploaded_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_bulletin_template_program_id_program")
        ),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_bulletin_template")),
    )
    _check("notice_chain", "rule", f"rule IN ({_RULES}, 'ranking_streak', 'red_light')")
    _check("webhook", "events", f"events <@ ARRAY[{_EVENTS}, 'bulletin.published']::varchar[]")
    _check("notice_chain", "closed_reason", f"closed_reason IN ({_CLOSED}, 'light_cleared')")


def downgrade() -> None:
    op.execute("UPDATE webhook SET events = array_remove(events, 'bulletin.published')")
    _check("webhook", "events", f"events <@ ARRAY[{_EVENTS}]::varchar[]")
    later = "SELECT id FROM notice_chain WHERE rule IN ('ranking_streak', 'red_light')"
    notices = f"SELECT id FROM notice WHERE chain_id IN ({later})"
    op.execute(f"DELETE FROM notice_action WHERE notice_id IN ({notices})")
    op.execute(f"UPDATE notice SET parent_id = NULL WHERE parent_id IN ({notices})")
    op.execute(f"DELETE FROM notice WHERE chain_id IN ({later})")
    op.execute(f"DELETE FROM notice_chain WHERE id IN ({later})")
    _check("notice_chain", "rule", f"rule IN ({_RULES})")
    op.execute("UPDATE notice_chain SET closed_reason = 'caught_up' WHERE closed_reason = 'light_cleared'")
    _check("notice_chain", "closed_reason", f"closed_reason IN ({_CLOSED})")
    op.drop_table("bulletin_template")
    op.drop_index(op.f("ix_bulletin_program_id"), table_name="bulletin")
    op.drop_table("bulletin")
