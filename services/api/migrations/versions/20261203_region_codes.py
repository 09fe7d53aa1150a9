"""Units: township and village division codes, and one unit per region code

`region_code` takes GB/T 2260's six digits or the statistical division code's nine (township)
or twelve (village), and a partial unique index keeps one unit per code. Should two units share
a code already, the upgrade stops and names them: the office decides which keeps it.

Revision ID: 20261203_0031
Revises: 20261203_0030
Create Date: 2026-12-03 19:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203_0031"
down_revision: str | None = "20261203_0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    shared = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT region_code, string_agg(code, ', ' ORDER BY code) FROM unit "
                "WHERE region_code IS NOT NULL "
                "GROUP BY region_code HAVING count(*) > 1"
            )
        )
        .all()
    )
    if shared:
        said = "; ".join(f"{region}: {codes}" for region, codes in shared)
        raise RuntimeError(f"units share a region code ({said}): keep it on one unit each, then upgrade")
    op.alter_column("unit", "region_code", type_=sa.String(length=12), existing_nullable=True)
    op.drop_constraint("region_code", "unit", type_="check")
    op.create_check_constraint("region_code", "unit", "region_code ~ '^([0-9]{6}|[0-9]{9}|[0-9]{12})$'")
    op.create_index(
        "ix_unit_region_code",
        "unit",
        ["region_code"],
        unique=True,
        postgresql_where=sa.text("region_code IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_unit_region_code", table_name="unit")
    op.drop_constraint("region_code", "unit", type_="check")
    op.execute("UPDATE unit SET region_code = NULL WHERE length(region_code) > 6")
    op.create_check_constraint("region_code", "unit", "region_code ~ '^[0-9]{6}$'")
    op.alter_column("unit", "region_code", type_=sa.String(length=6), existing_nullable=True)
