"""a problem's resolution is claimed by its unit and confirmed (or returned) by the office (办结复核)

problem.state gains resolution_claimed, problem_event.action gains resolution_claimed and
returned: both columns widen to 32 characters and their checks take the vocabulary's words again.

Revision ID: 20261201_0012
Revises: 20261201_0011
Create Date: 2026-12-01 05:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_0012"
down_revision: str | None = "20261201_0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECKS = {
    ("problem", "state"): (
        "state IN ('open', 'resolution_claimed', 'resolved')",
        "state IN ('open', 'resolved')",
    ),
    ("problem_event", "action"): (
        "action IN ('raised', 'referred', 'resolution_claimed', 'resolved', 'returned')",
        "action IN ('raised', 'referred', 'resolved')",
    ),
}


def upgrade() -> None:
    op.alter_column("problem", "state", type_=sa.String(length=32), existing_nullable=False)
    op.alter_column("problem_event", "action", type_=sa.String(length=32), existing_nullable=False)
    for (table, name), (condition, _) in _CHECKS.items():
        op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
        op.create_check_constraint(name, table, condition)


def downgrade() -> None:
    # claimed resolutions go back to open; their events stay only as far as the old words allow
    op.execute("UPDATE problem SET state = 'open' WHERE state = 'resolution_claimed'")
    op.execute("DELETE FROM problem_event WHERE action IN ('resolution_claimed', 'returned')")
    for (table, name), (_, condition) in _CHECKS.items():
        op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
        op.create_check_constraint(name, table, condition)
    op.alter_column("problem_event", "action", type_=sa.String(length=16), existing_nullable=False)
    op.alter_column("problem", "state", type_=sa.String(length=16), existing_nullable=False)
