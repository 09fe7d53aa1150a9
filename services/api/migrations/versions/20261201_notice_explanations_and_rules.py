"""explanations pause a chain, the office rejects (退办), more rules, praise, ranker events

notice_chain: paused_on, and the rules that find milestones, problems, investment behind plan,
开而未动, 动而迟缓, rankings and assessments; notice: states explanation_submitted and reopened,
kind praise; notice_action: explanation and reject, the answer a decision decides (one decision
per answer, replacing one accept per notice), an explanation's proposed date and a rejection's
new deadline; webhooks may subscribe to round.published and assessment.published.

Revision ID: 20261201_0018
Revises: 20261201_0017
Create Date: 2026-12-01 11:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_0018"
down_revision: str | None = "20261201_0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RULES = ("'report_due', 'manual'", ", 'milestone_due', 'problem_overdue', 'investment_behind', "
          "'not_moving', 'moving_slowly', 'ranking', 'assessment'")  # fmt: skip
_STATES = (
    "'issued', 'feedback_submitted', ",
    "'explanation_submitted', 'reopened', ",
    "'superseded', 'closed'",
)
_KINDS = "'reminder', 'urging', 'supervision', 'criticism', 'interview', 'accountability'"
_ACTIONS = ("'feedback', ", "'explanation', ", "'accept'", ", 'reject'")
_EVENTS = ("'project.approved', 'report.instant', 'notice.issued', 'notice.closed'",
           ", 'round.published', 'assessment.published'")  # fmt: skip


def _check(table: str, name: str, condition: str) -> None:
    op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.create_check_constraint(name, table, condition)


def upgrade() -> None:
    op.add_column("notice_chain", sa.Column("paused_on", sa.Date(), nullable=True))
    op.add_column("notice_chain", sa.Column("first_level", sa.Integer(), nullable=True))
    op.add_column("notice_chain", sa.Column("title", sa.Text(), server_default="", nullable=False))
    op.add_column("notice_action", sa.Column("decides_id", sa.Uuid(), nullable=True))
    op.add_column("notice_action", sa.Column("proposed_due_date", sa.Date(), nullable=True))
    op.add_column("notice_action", sa.Column("due_date", sa.Date(), nullable=True))
    op.create_foreign_key(
        op.f("fk_notice_action_decides_id_notice_action"), "notice_action", "notice_action",
        ["decides_id"], ["id"],
    )  # fmt: skip
    op.execute(  # each accept so far decided the notice's latest feedback before it
        "UPDATE notice_action a SET decides_id = (SELECT f.id FROM notice_action f WHERE f.notice_id = "
        "a.notice_id AND f.action = 'feedback' AND f.at <= a.at ORDER BY f.at DESC LIMIT 1) "
        "WHERE a.action = 'accept'"
    )
    op.drop_index(
        "uq_notice_action_one_accept", table_name="notice_action", postgresql_where="action = 'accept'"
    )
    op.create_index(
        "uq_notice_action_decides", "notice_action", ["decides_id"], unique=True,
        postgresql_where="decides_id IS NOT NULL",
    )  # fmt: skip
    _check("notice_chain", "rule", f"rule IN ({''.join(_RULES)})")
    _check("notice", "state", f"state IN ({''.join(_STATES)})")
    _check("notice", "kind", f"kind IN ({_KINDS}, 'praise')")
    _check("notice_action", "action", f"action IN ({''.join(_ACTIONS)})")
    _check("webhook", "events", f"events <@ ARRAY[{''.join(_EVENTS)}]::varchar[]")


def downgrade() -> None:
    op.execute(
        "UPDATE webhook SET events = array_remove(array_remove(events, 'round.published'), "
        "'assessment.published')"
    )
    _check("webhook", "events", f"events <@ ARRAY[{_EVENTS[0]}]::varchar[]")
    later = "SELECT id FROM notice_chain WHERE rule NOT IN ('report_due', 'manual')"
    notices = f"SELECT id FROM notice WHERE chain_id IN ({later}) OR kind = 'praise'"
    op.execute(f"DELETE FROM notice_action WHERE notice_id IN ({notices})")
    op.execute(f"UPDATE notice SET parent_id = NULL WHERE parent_id IN ({notices})")
    op.execute(f"DELETE FROM notice WHERE id IN ({notices})")
    op.execute(f"DELETE FROM notice_chain WHERE id IN ({later})")
    op.execute(
        "DELETE FROM notice_action WHERE action IN ('explanation', 'reject') OR decides_id IN "
        "(SELECT id FROM notice_action WHERE action = 'explanation')"
    )
    op.execute("UPDATE notice SET state = 'issued' WHERE state IN ('explanation_submitted', 'reopened')")
    _check("notice_action", "action", f"action IN ({_ACTIONS[0]}{_ACTIONS[2]})")
    _check("notice", "kind", f"kind IN ({_KINDS})")
    _check("notice", "state", f"state IN ({_STATES[0]}{_STATES[2]})")
    _check("notice_chain", "rule", f"rule IN ({_RULES[0]})")
    op.drop_index(
        "uq_notice_action_decides", table_name="notice_action", postgresql_where="decides_id IS NOT NULL"
    )
    op.create_index(
        "uq_notice_action_one_accept", "notice_action", ["notice_id"], unique=True,
        postgresql_where="action = 'accept'",
    )  # fmt: skip
    op.drop_constraint(op.f("fk_notice_action_decides_id_notice_action"), "notice_action", type_="foreignkey")
    op.drop_column("notice_action", "due_date")
    op.drop_column("notice_action", "proposed_due_date")
    op.drop_column("notice_action", "decides_id")
    op.drop_column("notice_chain", "title")
    op.drop_column("notice_chain", "first_level")
    op.drop_column("notice_chain", "paused_on")
