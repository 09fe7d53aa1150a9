"""notice digests: one message a day to each unit's liaison, listing its new notices

Also an index of each program's open chains by rule: closing what no longer stands reads the
open chains only, however many closed ones history holds.

Revision ID: 20261201_0019
Revises: 20261201_0018
Create Date: 2026-12-01 11:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "20261201_0019"
down_revision: str | None = "20261201_0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
WAITING = "digest_id IS NULL AND state IN ('issued', 'reopened')"


def upgrade() -> None:
    op.create_index(
        "ix_notice_chain_open", "notice_chain", ["program_id", "rule"], postgresql_where="state = 'open'"
    )
    op.create_table(
        "notice_digest",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("to_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("notices", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_notice_digest_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_digest")),
        sa.UniqueConstraint("unit_id", "day", name=op.f("uq_notice_digest_unit_id_day")),
    )
    op.create_index(
        "ix_notice_digest_unsent", "notice_digest", ["created_at"], postgresql_where="sent_at IS NULL"
    )
    op.add_column("notice", sa.Column("digest_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_notice_digest_id_notice_digest"), "notice", "notice_digest", ["digest_id"], ["id"]
    )
    op.create_index("ix_notice_undigested", "notice", ["recipient_unit_id"], postgresql_where=WAITING)


def downgrade() -> None:
    op.drop_index("ix_notice_chain_open", table_name="notice_chain", postgresql_where="state = 'open'")
    op.drop_index("ix_notice_undigested", table_name="notice", postgresql_where=WAITING)
    op.drop_constraint(op.f("fk_notice_digest_id_notice_digest"), "notice", type_="foreignkey")
    op.drop_column("notice", "digest_id")
    op.drop_index("ix_notice_digest_unsent", table_name="notice_digest", postgresql_where="sent_at IS NULL")
    op.drop_table("notice_digest")
