"""Personal data retention: customers and vehicles are forgotten once their day is old enough.

A booking names a customer and a vehicle (a number plate is personal data too). The service
needs them while the car is in the workshop and for a while after (complaints, warranty), not
for ever. ``purge`` blanks both fields of every booking whose day lies more than ``days`` days
back, and deletes stored Idempotency-Key answers that old (a confirmation's answer repeats the
customer's name). Everything else the service keeps about a booking (services, times, plans,
audit entries) names no person, so the day's plans and key figures stay intact.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.orm import Session

from api.db.models import BookingRow, DayRow, IdempotencyKeyRow
from api.db.session import Database
from api.services import audit
from api.services.audit import Actor
from api.services.errors import Invalid


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What a purge did."""

    before: dt.date  # bookings of days before this date were anonymised
    bookings: int
    idempotency_answers: int


def _count(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


def purge(db: Database, *, days: int, now: dt.datetime, actor: Actor) -> PurgeResult:
    """Anonymise the bookings of days more than ``days`` days before ``now``'s date (UTC) and
    delete stored answers as old; one ``privacy.purge`` audit entry."""
    if days < 1:
        raise Invalid(f"keep personal data for at least one day, got {days}", field="days")
    before = now.astimezone(dt.UTC).date() - dt.timedelta(days=days)

    def work(session: Session) -> PurgeResult:
        old_days = select(DayRow.id).where(DayRow.date < before)
        anonymised = _count(
            session.execute(
                update(BookingRow)
                .where(BookingRow.day_id.in_(old_days), BookingRow.anonymised_at.is_(None))
                .values(customer="", vehicle="", anonymised_at=now)
                .execution_options(synchronize_session=False)
            )
        )
        answers = _count(
            session.execute(
                delete(IdempotencyKeyRow).where(
                    IdempotencyKeyRow.created_at < now - dt.timedelta(days=days)
                )
            )
        )
        result = PurgeResult(before, anonymised, answers)
        audit.record(
            session,
            actor,
            "privacy.purge",
            now=now,
            detail={
                "days": days,
                "before": before.isoformat(),
                "bookings": result.bookings,
                "idempotency_answers": result.idempotency_answers,
            },
        )
        return result

    return db.write(work)
