"""The database layer: reads see one snapshot, so a day's rows always belong together."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.migrate import upgrade
from api.db.models import SecretRow
from api.db.session import Database


def test_a_read_sees_one_snapshot_while_others_write(db_url: str) -> None:
    """Slot search reads a day's bookings and its assignments in separate statements; a write
    committed between them must not show in the second (PostgreSQL's default READ COMMITTED
    would show it, and an offer would be built on half of the change)."""
    db = Database(db_url)
    upgrade(db)

    def count(session: Session) -> int:
        return int(session.scalar(select(func.count()).select_from(SecretRow)) or 0)

    def add(session: Session) -> None:
        session.add(SecretRow(name="between", value="x"))

    try:
        with db.read() as session:
            before = count(session)
            db.write(add)  # another connection commits meanwhile
            assert count(session) == before
        with db.read() as session:
            assert count(session) == before + 1
    finally:
        db.dispose()
