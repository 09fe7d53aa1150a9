"""Standing supervision teams, their coverage, visits, findings and evidence files; a project's
location; the visit_due and finding notice rules and their chains' closing reasons

Revision ID: 20261206_0034
Revises: 20261205_0033
Create Date: 2026-12-06 09:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261206_0034"
down_revision: str | None = "20261205_0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RULES = ("'report_due', 'manual', 'milestone_due', 'problem_overdue', 'investment_behind', "
          "'not_moving', 'moving_slowly', 'ranking', 'assessment', 'ranking_streak', "
          "'red_light'")  # fmt: skip
_CLOSED = ("'report_filed', 'milestone_met', 'problem_resolved', 'caught_up', 'moving_again', "
           "'rule_switched_off', 'feedback_accepted', 'praised', 'no_rung', 'withdrawn', "
           "'program_closed', 'light_cleared'")  # fmt: skip


def _check(table: str, name: str, condition: str) -> None:
    op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.create_check_constraint(name, table, condition)


def upgrade() -> None:
    op.create_table(
        "team",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("leader_user_id", sa.Uuid(), nullable=False),
        sa.Column("cadence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["leader_user_id"], ["app_user.id"], name=op.f("fk_team_leader_user_id_app_user")
        ),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"], name=op.f("fk_team_program_id_program")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team")),
        sa.UniqueConstraint("program_id", "name", name=op.f("uq_team_program_id_name")),
    )
    op.create_index(op.f("ix_team_program_id"), "team", ["program_id"], unique=False)
    op.create_table(
        "team_cover",
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("target_type", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("target_type IN ('unit', 'task')", name=op.f("ck_team_cover_target_type")),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_team_cover_program_id_program")
        ),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_team_cover_team_id_team")),
        sa.PrimaryKeyConstraint("program_id", "target_type", "target_id", name=op.f("pk_team_cover")),
    )
    op.create_index(op.f("ix_team_cover_team_id"), "team_cover", ["team_id"], unique=False)
    op.create_table(
        "team_member",
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_team_member_team_id_team")),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_team_member_user_id_app_user")),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_member")),
    )
    op.create_index(op.f("ix_team_member_user_id"), "team_member", ["user_id"], unique=False)
    op.create_table(
        "visit",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("places", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("project_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("participants", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind IN ('joint', 'on_site', 'meeting')", name=op.f("ck_visit_kind")),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"], name=op.f("fk_visit_program_id_program")),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_visit_team_id_team")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit")),
    )
    op.create_index(op.f("ix_visit_program_id"), "visit", ["program_id"], unique=False)
    op.create_index("ix_visit_team_kind_day", "visit", ["team_id", "kind", "visited_on"], unique=False)
    op.create_table(
        "finding",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("severity", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("requirement", sa.Text(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rectified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.CheckConstraint("severity IN ('minor', 'major', 'critical')", name=op.f("ck_finding_severity")),
        sa.CheckConstraint("state IN ('open', 'rectified')", name=op.f("ck_finding_state")),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"], name=op.f("fk_finding_program_id_program")),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_finding_project_id_project")),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"], name=op.f("fk_finding_task_id_task")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_finding_unit_id_unit")),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=op.f("fk_finding_visit_id_visit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding")),
        sa.UniqueConstraint("notice_id", name=op.f("uq_finding_notice_id")),
    )
    op.create_index(op.f("ix_finding_program_id"), "finding", ["program_id"], unique=False)
    op.create_index(op.f("ix_finding_unit_id"), "finding", ["unit_id"], unique=False)
    op.create_index(op.f("ix_finding_visit_id"), "finding", ["visit_id"], unique=False)
    op.create_table(
        "evidence_file",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("visit_id", sa.Uuid(), nullable=False),
        sa.Column("finding_id", sa.Uuid(), nullable=True),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("filename", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("public_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("public_media_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("latitude", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("longitude", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("accuracy_m", sa.Numeric(precision=9, scale=1), nullable=True),
        sa.Column("distance_m", sa.Numeric(precision=12, scale=1), nullable=True),
        sa.Column("far", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"], ["finding.id"], name=op.f("fk_evidence_file_finding_id_finding")
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=op.f("fk_evidence_file_visit_id_visit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_file")),
        sa.UniqueConstraint("visit_id", "sha256", name=op.f("uq_evidence_file_visit_id_sha256")),
    )
    op.create_index(op.f("ix_evidence_file_visit_id"), "evidence_file", ["visit_id"], unique=False)
    op.add_column("project", sa.Column("location", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    _check("notice_chain", "rule", f"rule IN ({_RULES}, 'visit_due', 'finding')")
    _check("notice_chain", "closed_reason", f"closed_reason IN ({_CLOSED}, 'visit_made', 'rectified')")


def downgrade() -> None:
    later = "SELECT id FROM notice_chain WHERE rule IN ('visit_due', 'finding')"
    notices = f"SELECT id FROM notice WHERE chain_id IN ({later})"
    op.execute(f"DELETE FROM notice_action WHERE notice_id IN ({notices})")
    op.execute(f"UPDATE notice SET parent_id = NULL WHERE parent_id IN ({notices})")
    op.execute(f"DELETE FROM notice WHERE chain_id IN ({later})")
    op.execute(f"DELETE FROM notice_chain WHERE id IN ({later})")
    _check("notice_chain", "rule", f"rule IN ({_RULES})")
    op.execute(
        "UPDATE notice_chain SET closed_reason = 'feedback_accepted' "
        "WHERE closed_reason IN ('visit_made', 'rectified')"
    )
    _check("notice_chain", "closed_reason", f"closed_reason IN ({_CLOSED})")
    op.drop_column("project", "location")
    op.drop_index(op.f("ix_evidence_file_visit_id"), table_name="evidence_file")
    op.drop_table("evidence_file")
    op.drop_index(op.f("ix_finding_visit_id"), table_name="finding")
    op.drop_index(op.f("ix_finding_unit_id"), table_name="finding")
    op.drop_index(op.f("ix_finding_program_id"), table_name="finding")
    op.drop_table("finding")
    op.drop_index("ix_visit_team_kind_day", table_name="visit")
    op.drop_index(op.f("ix_visit_program_id"), table_name="visit")
    op.drop_table("visit")
    op.drop_index(op.f("ix_team_member_user_id"), table_name="team_member")
    op.drop_table("team_member")
    op.drop_index(op.f("ix_team_cover_team_id"), table_name="team_cover")
    op.drop_table("team_cover")
    op.drop_index(op.f("ix_team_program_id"), table_name="team")
    op.drop_table("team")
