"""the working-day calendar (seeded from chinese-calendar), reports, the problem ledger

Revision ID: 20261123_0005
Revises: 20261123_0004
Create Date: 2026-11-23 02:40:02.282711+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.calendar import packaged_years

revision: str = "20261123_0005"
down_revision: str | None = "20261123_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_year",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_year")),
    )
    op.create_table(
        "calendar_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["year"], ["calendar_year.year"], name=op.f("fk_calendar_day_year_calendar_year")
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_day")),
    )
    op.create_index(op.f("ix_calendar_day_year"), "calendar_day", ["year"], unique=False)
    op.create_table(
        "unit_report",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("submitted_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_unit_report_program_id_program")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_unit_report_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit_report")),
    )
    op.create_index(op.f("ix_unit_report_program_id"), "unit_report", ["program_id"], unique=False)
    op.create_index(
        "ix_unit_report_unit_kind_period", "unit_report", ["unit_id", "kind", "period"], unique=False
    )
    op.create_table(
        "project_report",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("period", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("investment_month", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("investment_to_date", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("progress_percent", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("milestones", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("coordination", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_complete", sa.Boolean(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("submitted_by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_project_report_program_id_program")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["project.id"], name=op.f("fk_project_report_project_id_project")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_report")),
        sa.UniqueConstraint(
            "project_id", "period", "version", name=op.f("uq_project_report_project_id_period_version")
        ),
    )
    op.create_index(
        "ix_project_report_program_period", "project_report", ["program_id", "period"], unique=False
    )
    op.create_table(
        "problem",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("report_id", sa.Uuid(), nullable=True),
        sa.Column("owner_unit_id", sa.UUID(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("needs_coordination", sa.Boolean(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("meeting_level", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("deadline_complete", sa.Boolean(), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["owner_unit_id"], ["unit.id"], name=op.f("fk_problem_owner_unit_id_unit")),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"], name=op.f("fk_problem_program_id_program")),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_problem_project_id_project")),
        sa.ForeignKeyConstraint(
            ["report_id"], ["project_report.id"], name=op.f("fk_problem_report_id_project_report")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem")),
    )
    op.create_index(op.f("ix_problem_owner_unit_id"), "problem", ["owner_unit_id"], unique=False)
    op.create_index("ix_problem_program_state", "problem", ["program_id", "state"], unique=False)
    op.create_index(op.f("ix_problem_project_id"), "problem", ["project_id"], unique=False)
    op.create_table(
        "problem_event",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("problem_id", sa.Uuid(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("from_level", sa.Integer(), nullable=True),
        sa.Column("to_level", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["problem_id"], ["problem.id"], name=op.f("fk_problem_event_problem_id_problem")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_event")),
    )
    op.create_index(op.f("ix_problem_event_problem_id"), "problem_event", ["problem_id"], unique=False)
    op.create_index(
        "ix_project_report_project_period", "project_report", ["project_id", "period", "submitted_at"]
    )
    op.create_check_constraint("kind", "calendar_day", "kind IN ('holiday', 'workday')")
    op.create_check_constraint("kind", "unit_report", "kind IN ('weekly', 'monthly', 'instant')")
    op.create_check_constraint("state", "problem", "state IN ('open', 'resolved')")
    op.create_check_constraint("progress", "project_report", "progress_percent BETWEEN 0 AND 100")
    _seed_calendar()


def _seed_calendar() -> None:
    """Every year the installed chinese-calendar package knows (the office loads later years)."""
    years = sa.table(
        "calendar_year",
        sa.column("year", sa.Integer),
        sa.column("source", sa.String),
        sa.column("updated_by", sa.String),
    )
    days = sa.table(
        "calendar_day", sa.column("day", sa.Date), sa.column("year", sa.Integer), sa.column("kind", sa.String)
    )
    known = packaged_years()
    op.bulk_insert(
        years, [{"year": y, "source": "chinese-calendar", "updated_by": "migration"} for y in known]
    )
    op.bulk_insert(
        days,
        [
            {"day": d, "year": y, "kind": kind}
            for y, (holidays, workdays) in known.items()
            for kind, ds in (("holiday", holidays), ("workday", workdays))
            for d in ds
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_project_report_project_period", table_name="project_report")
    op.drop_index(op.f("ix_problem_event_problem_id"), table_name="problem_event")
    op.drop_table("problem_event")
    op.drop_index(op.f("ix_problem_project_id"), table_name="problem")
    op.drop_index("ix_problem_program_state", table_name="problem")
    op.drop_index(op.f("ix_problem_owner_unit_id"), table_name="problem")
    op.drop_table("problem")
    op.drop_index("ix_project_report_program_period", table_name="project_report")
    op.drop_table("project_report")
    op.drop_index("ix_unit_report_unit_kind_period", table_name="unit_report")
    op.drop_index(op.f("ix_unit_report_program_id"), table_name="unit_report")
    op.drop_table("unit_report")
    op.drop_index(op.f("ix_calendar_day_year"), table_name="calendar_day")
    op.drop_table("calendar_day")
    op.drop_table("calendar_year")
