"""webhooks may subscribe to notice.issued and notice.closed

The check on webhook.events takes the vocabulary's words again.

Revision ID: 20261201_0015
Revises: 20261201_0014
Create Date: 2026-12-01 07:45:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261201_0015"
down_revision: str | None = "20261201_0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = "events <@ ARRAY['project.approved', 'report.instant', 'notice.issued', 'notice.closed']::varchar[]"
_BEFORE = "events <@ ARRAY['project.approved', 'report.instant']::varchar[]"


def _replace(condition: str) -> None:
    op.drop_constraint(op.f("ck_webhook_events"), "webhook", type_="check")
    op.create_check_constraint("events", "webhook", condition)


def upgrade() -> None:
    _replace(_NOW)


def downgrade() -> None:
    op.execute(
        "UPDATE webhook SET events = array_remove(array_remove(events, 'notice.issued'), 'notice.closed')"
    )
    _replace(_BEFORE)
