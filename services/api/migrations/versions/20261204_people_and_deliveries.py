"""Notices reach people: users' e-mail, mobile and duties; a digest's deliveries per person and channel

A digest written before this (never sent) is planned by the next delivery pass, to the unit's
liaison through every configured channel; one already sent is left as it was.

Revision ID: 20261204_0032
Revises: 20261203_0031
Create Date: 2026-12-04 18:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261204_0032"
down_revision: str | None = "20261203_0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUTIES = "duties <@ ARRAY['liaison', 'unit_head', 'unit_principal']::varchar[]"


def upgrade() -> None:
    op.add_column("app_user", sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True))
    op.add_column("app_user", sa.Column("mobile_encrypted", sa.Text(), nullable=True))
    op.add_column(
        "app_user",
        sa.Column("duties", postgresql.ARRAY(sa.String(length=64)), server_default="{}", nullable=False),
    )
    op.create_check_constraint("duties", "app_user", DUTIES)
    op.add_column("notice_digest", sa.Column("planned_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE notice_digest SET planned_at = sent_at WHERE sent_at IS NOT NULL")
    op.create_table(
        "notice_delivery",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("digest_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("person", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("to_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
        sa.Column("address_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("duties", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('pending', 'sent', 'failed')", name=op.f("ck_notice_delivery_state")),
        sa.ForeignKeyConstraint(
            ["digest_id"], ["notice_digest.id"], name=op.f("fk_notice_delivery_digest_id_notice_digest")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_notice_delivery_unit_id_unit")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_notice_delivery_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_delivery")),
        sa.UniqueConstraint(
            "digest_id", "person", "channel", name=op.f("uq_notice_delivery_digest_id_person_channel")
        ),
    )
    op.create_index(op.f("ix_notice_delivery_digest_id"), "notice_delivery", ["digest_id"])
    op.create_index(op.f("ix_notice_delivery_unit_id"), "notice_delivery", ["unit_id"])
    op.create_index("ix_notice_delivery_address", "notice_delivery", ["channel", "address_key", "created_at"])
    op.create_index(
        "ix_notice_delivery_due", "notice_delivery", ["next_attempt_at"], postgresql_where="state = 'pending'"
    )


def downgrade() -> None:
    op.drop_table("notice_delivery")
    op.drop_column("notice_digest", "planned_at")
    op.drop_constraint("duties", "app_user", type_="check")
    op.drop_column("app_user", "duties")
    op.drop_column("app_user", "mobile_encrypted")
    op.drop_column("app_user", "email")
