"""audit rows chained after commit, not under a lock in each writer's transaction

Writers now append rows with no hash; the api's background pass (and `duban audit verify`)
chains committed rows in `seq` order. The trigger still refuses DELETE, TRUNCATE and any
UPDATE, except the one that gives an unchained row its place in the chain.

Revision ID: 20261124_0006
Revises: 20261123_0005
Create Date: 2026-11-24 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261124_0006"
down_revision: str | None = "20261123_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONTENT = (
    "occurred_at, actor_kind, actor_id, action, entity, entity_id, unit_id, before, after, request_id, id"
)

CHAIN_ONCE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.hash IS NULL AND NEW.hash IS NOT NULL
       AND ({", ".join(f"NEW.{c.strip()}" for c in _CONTENT.split(","))})
           IS NOT DISTINCT FROM ({", ".join(f"OLD.{c.strip()}" for c in _CONTENT.split(","))}) THEN
        RETURN NEW;  -- chaining a row: its contents stay as written
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    op.execute("UPDATE audit_log SET seq = id")  # rows so far were chained in id order
    op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    op.alter_column("audit_log", "prev_hash", nullable=True)
    op.alter_column("audit_log", "hash", nullable=True)
    op.create_unique_constraint(op.f("uq_audit_log_seq"), "audit_log", ["seq"])
    op.create_check_constraint(
        "chained_whole",
        "audit_log",
        "(seq IS NULL AND prev_hash IS NULL AND hash IS NULL) "
        "OR (seq IS NOT NULL AND prev_hash IS NOT NULL AND hash IS NOT NULL)",
    )
    op.create_index("ix_audit_log_unchained", "audit_log", ["id"], postgresql_where=sa.text("hash IS NULL"))
    op.execute(CHAIN_ONCE_FUNCTION)


def downgrade() -> None:
    op.execute(APPEND_ONLY_FUNCTION)
    op.drop_index("ix_audit_log_unchained", table_name="audit_log")
    op.drop_constraint(op.f("ck_audit_log_chained_whole"), "audit_log", type_="check")
    op.drop_constraint(op.f("uq_audit_log_seq"), "audit_log", type_="unique")
    # Rows still waiting for a hash cannot be kept under the old NOT NULL rule, nor dropped.
    op.execute(
        "DO $$ BEGIN IF EXISTS (SELECT 1 FROM audit_log WHERE hash IS NULL) THEN "
        "RAISE EXCEPTION 'audit rows are waiting to be chained: run duban audit verify, then downgrade'; "
        "END IF; END $$"
    )
    op.alter_column("audit_log", "hash", nullable=False)
    op.alter_column("audit_log", "prev_hash", nullable=False)
    op.drop_column("audit_log", "seq")
