"""Initial schema: workshops, days, bookings, holds, reserved intervals, plans, events.

On PostgreSQL, btree_gist and an exclusion constraint make overlapping reservations of one
technician or bay impossible to commit, whichever process writes them.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 12:53:18.155251
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create every table; on PostgreSQL add the no-double-booking exclusion constraint."""
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "app_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("endpoint", sa.String(length=300), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", "endpoint"),
    )
    op.create_table(
        "workshops",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "days",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workshop_id", sa.String(length=100), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("schedule_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["workshop_id"], ["workshops.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workshop_id", "date", name="uq_days_workshop_date"),
    )
    op.create_table(
        "bookings",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("workshop_id", sa.String(length=100), nullable=False),
        sa.Column("day_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.String(length=100), nullable=False),
        sa.Column("customer", sa.String(length=200), nullable=False),
        sa.Column("vehicle", sa.String(length=100), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("arrival", sa.Integer(), nullable=False),
        sa.Column("waiting", sa.Boolean(), nullable=False),
        sa.Column("promised", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(length=32), nullable=False),
        sa.Column("technician", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("hold_id", sa.String(length=64), nullable=True),
        sa.Column("unscheduled_reason", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["day_id"], ["days.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workshop_id"], ["workshops.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("workshop_id", "booking_id", name="uq_bookings_workshop_booking"),
    )
    op.create_index("ix_bookings_day_status", "bookings", ["day_id", "status"], unique=False)
    op.create_table(
        "day_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("at_minute", sa.Integer(), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["day_id"], ["days.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_day_events_day_id"), "day_events", ["day_id"], unique=False)
    op.create_table(
        "holds",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workshop_id", sa.String(length=100), nullable=False),
        sa.Column("day_id", sa.Integer(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("arrival", sa.Integer(), nullable=False),
        sa.Column("waiting", sa.Boolean(), nullable=False),
        sa.Column("promised", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("booking_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["day_id"], ["days.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workshop_id"], ["workshops.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_holds_day_status", "holds", ["day_id", "status"], unique=False)
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("schedule_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["day_id"], ["days.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day_id", "version", name="uq_plans_day_version"),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day_id", sa.Integer(), nullable=False),
        sa.Column("booking_pk", sa.Integer(), nullable=True),
        sa.Column("hold_id", sa.String(length=64), nullable=True),
        sa.Column("service", sa.String(length=100), nullable=False),
        sa.Column("operation", sa.Integer(), nullable=False),
        sa.Column("technician", sa.String(length=100), nullable=False),
        sa.Column("bay", sa.String(length=100), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=False),
        sa.Column("end_minute", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["booking_pk"], ["bookings.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["day_id"], ["days.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_assignments_booking_pk"), "assignments", ["booking_pk"], unique=False)
    op.create_index("ix_assignments_day", "assignments", ["day_id"], unique=False)
    op.create_index(op.f("ix_assignments_hold_id"), "assignments", ["hold_id"], unique=False)
    op.create_table(
        "reserved_intervals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("resource", sa.String(length=250), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_reserved_intervals_assignment_id"),
        "reserved_intervals",
        ["assignment_id"],
        unique=False,
    )

    if postgres:
        op.execute(
            "ALTER TABLE reserved_intervals ADD CONSTRAINT no_double_booking "
            "EXCLUDE USING gist (resource WITH =, tstzrange(start_at, end_at, '[)') WITH &&)"
        )


def downgrade() -> None:
    """Drop every table."""
    op.drop_index(op.f("ix_reserved_intervals_assignment_id"), table_name="reserved_intervals")
    op.drop_table("reserved_intervals")
    op.drop_index(op.f("ix_assignments_hold_id"), table_name="assignments")
    op.drop_index("ix_assignments_day", table_name="assignments")
    op.drop_index(op.f("ix_assignments_booking_pk"), table_name="assignments")
    op.drop_table("assignments")
    op.drop_table("plans")
    op.drop_index("ix_holds_day_status", table_name="holds")
    op.drop_table("holds")
    op.drop_index(op.f("ix_day_events_day_id"), table_name="day_events")
    op.drop_table("day_events")
    op.drop_index("ix_bookings_day_status", table_name="bookings")
    op.drop_table("bookings")
    op.drop_table("days")
    op.drop_table("workshops")
    op.drop_table("idempotency_keys")
    op.drop_table("app_secrets")
