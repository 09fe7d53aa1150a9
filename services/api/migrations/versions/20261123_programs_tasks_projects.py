"""programs, tasks with targets, the project library and its adjustments

Revision ID: 20261123_0003
Revises: 20261123_0002
Create Date: 2026-11-23 01:58:48.084497+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261123_0003"
down_revision: str | None = "20261123_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "program",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("office_unit_id", sa.UUID(), nullable=False),
        sa.Column("categories", postgresql.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("settings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["office_unit_id"], ["unit.id"], name=op.f("fk_program_office_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program")),
        sa.UniqueConstraint("code", name=op.f("uq_program_code")),
    )
    op.create_index(op.f("ix_program_office_unit_id"), "program", ["office_unit_id"], unique=False)
    op.create_table(
        "project",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("region_unit_id", sa.UUID(), nullable=False),
        sa.Column("owner_unit_id", sa.UUID(), nullable=False),
        sa.Column("responsible_unit_id", sa.UUID(), nullable=False),
        sa.Column("leader", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("service_team", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("construction", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("total_investment", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("annual_plan", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("monthly_plan", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("return_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["owner_unit_id"], ["unit.id"], name=op.f("fk_project_owner_unit_id_unit")),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"], name=op.f("fk_project_program_id_program")),
        sa.ForeignKeyConstraint(["region_unit_id"], ["unit.id"], name=op.f("fk_project_region_unit_id_unit")),
        sa.ForeignKeyConstraint(
            ["responsible_unit_id"], ["unit.id"], name=op.f("fk_project_responsible_unit_id_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project")),
        sa.UniqueConstraint("program_id", "code", name=op.f("uq_project_program_id_code")),
    )
    op.create_index(op.f("ix_project_owner_unit_id"), "project", ["owner_unit_id"], unique=False)
    op.create_index(
        "ix_project_program_status_stage", "project", ["program_id", "status", "stage"], unique=False
    )
    op.create_index(op.f("ix_project_region_unit_id"), "project", ["region_unit_id"], unique=False)
    op.create_index(op.f("ix_project_responsible_unit_id"), "project", ["responsible_unit_id"], unique=False)
    op.create_table(
        "task",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"], name=op.f("fk_task_program_id_program")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task")),
        sa.UniqueConstraint("program_id", "number", name=op.f("uq_task_program_id_number")),
    )
    op.create_index(op.f("ix_task_program_id"), "task", ["program_id"], unique=False)
    op.create_table(
        "adjustment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("withdrawn_project_id", sa.Uuid(), nullable=False),
        sa.Column("replacement_project_ids", postgresql.ARRAY(sa.UUID()), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approved_total_before", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("approved_total_after", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_adjustment_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_project_id"], ["project.id"], name=op.f("fk_adjustment_withdrawn_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjustment")),
    )
    op.create_index(op.f("ix_adjustment_program_id"), "adjustment", ["program_id"], unique=False)
    op.create_table(
        "indicator_value",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("indicator", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("value", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("reported_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"], name=op.f("fk_indicator_value_task_id_task")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_value")),
    )
    op.create_index(
        "ix_indicator_value_task_indicator",
        "indicator_value",
        ["task_id", "indicator", "as_of"],
        unique=False,
    )
    op.create_table(
        "milestone",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("actual_date", sa.Date(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_milestone_project_id_project")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_milestone_project_id_name")),
    )
    op.create_index(op.f("ix_milestone_project_id"), "milestone", ["project_id"], unique=False)
    op.create_table(
        "task_target",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("indicator", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("target_value", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("direction", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"], name=op.f("fk_task_target_task_id_task")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_target")),
        sa.UniqueConstraint(
            "task_id", "indicator", "due_date", name=op.f("uq_task_target_task_id_indicator_due_date")
        ),
    )
    op.create_index(op.f("ix_task_target_task_id"), "task_target", ["task_id"], unique=False)
    op.create_table(
        "task_unit",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"], name=op.f("fk_task_unit_task_id_task")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_task_unit_unit_id_unit")),
        sa.PrimaryKeyConstraint("task_id", "unit_id", "role", name=op.f("pk_task_unit")),
    )
    op.create_index(op.f("ix_task_unit_unit_id"), "task_unit", ["unit_id"], unique=False)
    # The rules the api checks, kept by the database too.
    op.create_check_constraint(
        "stage", "project", "stage IN ('planning', 'preparation', 'construction', 'completed')"
    )
    op.create_check_constraint(
        "status", "project", "status IN ('draft', 'submitted', 'approved', 'returned', 'withdrawn')"
    )
    op.create_check_constraint("construction", "project", "construction IN ('new', 'continuing')")
    op.create_check_constraint(
        "money", "project", "total_investment >= 0 AND annual_plan >= 0 AND annual_plan <= total_investment"
    )
    op.create_check_constraint("period", "project", "end_date >= start_date")
    op.create_check_constraint("role", "task_unit", "role IN ('lead', 'responsible', 'cooperating')")
    op.create_check_constraint("direction", "task_target", "direction IN ('at_least', 'at_most')")
    op.create_index("ix_project_program_updated", "project", ["program_id", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_project_program_updated", table_name="project")
    op.drop_index(op.f("ix_task_unit_unit_id"), table_name="task_unit")
    op.drop_table("task_unit")
    op.drop_index(op.f("ix_task_target_task_id"), table_name="task_target")
    op.drop_table("task_target")
    op.drop_index(op.f("ix_milestone_project_id"), table_name="milestone")
    op.drop_table("milestone")
    op.drop_index("ix_indicator_value_task_indicator", table_name="indicator_value")
    op.drop_table("indicator_value")
    op.drop_index(op.f("ix_adjustment_program_id"), table_name="adjustment")
    op.drop_table("adjustment")
    op.drop_index(op.f("ix_task_program_id"), table_name="task")
    op.drop_table("task")
    op.drop_index(op.f("ix_project_responsible_unit_id"), table_name="project")
    op.drop_index(op.f("ix_project_region_unit_id"), table_name="project")
    op.drop_index("ix_project_program_status_stage", table_name="project")
    op.drop_index(op.f("ix_project_owner_unit_id"), table_name="project")
    op.drop_table("project")
    op.drop_index(op.f("ix_program_office_unit_id"), table_name="program")
    op.drop_table("program")
