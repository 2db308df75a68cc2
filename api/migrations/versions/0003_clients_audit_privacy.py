"""API clients, the audit log, and who owns each hold and booking.

``api_clients`` holds each client's role, workshops and the SHA-256 of its key (never the
key); ``audit_log`` one row per change. Holds and bookings gain ``client_id`` (the client that
made them: only it may read or act on them) and bookings ``anonymised_at`` (set by the
retention purge). The new columns are plain nullable integers without foreign keys: on SQLite
adding a foreign key would rebuild ``bookings``, which ``assignments`` cascades from, and
clients are never deleted (revoked ones are kept for the audit log).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``api_clients`` and ``audit_log``; add the owner and anonymisation columns."""
    op.create_table(
        "api_clients",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("all_workshops", sa.Boolean(), nullable=False),
        sa.Column("workshops", sa.JSON(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_id"),
    )
    op.create_index(
        "uq_api_clients_active_name",
        "api_clients",
        ["name"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("workshop_id", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_workshop_id_id", "audit_log", ["workshop_id", "id"])
    op.add_column("holds", sa.Column("client_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_holds_client_id"), "holds", ["client_id"])
    op.add_column("bookings", sa.Column("client_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_bookings_client_id"), "bookings", ["client_id"])
    op.add_column("bookings", sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop them again (plain DROP COLUMN, which SQLite has had since 3.35: no table rebuild
    that could cascade into the assignments)."""
    op.drop_index(op.f("ix_bookings_client_id"), table_name="bookings")
    op.drop_column("bookings", "anonymised_at")
    op.drop_column("bookings", "client_id")
    op.drop_index(op.f("ix_holds_client_id"), table_name="holds")
    op.drop_column("holds", "client_id")
    op.drop_index("ix_audit_log_workshop_id_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("uq_api_clients_active_name", table_name="api_clients")
    op.drop_table("api_clients")
