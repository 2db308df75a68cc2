"""Exact stored lower bounds; an index for expiring idempotency keys.

A plan's lower bound is kept as an exact fraction beside its plan-file JSON (whose number may
be a float), and idempotency keys are deleted once they expire, by ``created_at``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``plans.lower_bound`` and the index on ``idempotency_keys.created_at``."""
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("lower_bound", sa.String(length=64), nullable=True))
    op.create_index(
        "ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"], unique=False
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("lower_bound")
