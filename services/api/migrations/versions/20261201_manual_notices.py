"""the office's own notices: notice_chain.rule takes manual

Revision ID: 20261201_0017
Revises: 20261201_0016
Create Date: 2026-12-01 08:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261201_0017"
down_revision: str | None = "20261201_0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rule(condition: str) -> None:
    op.drop_constraint(op.f("ck_notice_chain_rule"), "notice_chain", type_="check")
    op.create_check_constraint("rule", "notice_chain", condition)


def upgrade() -> None:
    _rule("rule IN ('report_due', 'manual')")


def downgrade() -> None:
    manual = "SELECT id FROM notice WHERE chain_id IN (SELECT id FROM notice_chain WHERE rule = 'manual')"
    op.execute(f"DELETE FROM notice_action WHERE notice_id IN ({manual})")
    op.execute(f"DELETE FROM notice WHERE id IN ({manual})")
    op.execute("DELETE FROM notice_chain WHERE rule = 'manual'")
    _rule("rule IN ('report_due')")
