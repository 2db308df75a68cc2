"""The committed schedule of a day, as stored: locking, reading, reserving and replacing it.

The committed schedule is every assignment of a booked booking and of an unexpired hold. Each
assignment reserves its technician and its bay as two rows of ``reserved_intervals``; on
PostgreSQL the exclusion constraint on that table refuses any insert that overlaps a committed
or pending reservation of the same resource, so no code path can double-book. Every writer
locks the day's row first with ``lock_day`` (``SELECT ... FOR UPDATE`` on a row that always
exists, made by an ``INSERT ... ON CONFLICT DO NOTHING``), so writes to one day queue up and
the overlap and parts checks they make see a schedule that cannot change under them; the same
call releases the day's expired holds, so they never block a writer even when no background
job runs. On SQLite the write transaction itself starts with ``BEGIN IMMEDIATE`` and plays the
role of the row lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, defer

from api.db.models import (
    BOOKED,
    EXPIRED,
    HELD,
    AssignmentRow,
    BookingRow,
    DayRow,
    HoldRow,
    PlanRow,
    ReservedIntervalRow,
    WorkshopRow,
)
from api.services.daydata import WorkshopCache, decimal_text, make_booking, make_day
from api.services.errors import NotFound
from scheduler.checker import check_plan
from scheduler.clock import to_datetime, zone
from scheduler.domain import Booking, Day, Workshop
from scheduler.plan import Assignment, Plan

HOLD_PREFIX = "hold:"
workshops = WorkshopCache()


def utc(moment: dt.datetime) -> dt.datetime:
    """An aware UTC datetime (SQLite hands back naive ones that were written as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def config_key(config: dict[str, Any]) -> str:
    """A stable identity of a workshop config, for caching its parsed form."""
    text = json.dumps(config, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def workshop_of(config: dict[str, Any]) -> Workshop:
    """The parsed (cached) workshop of a stored config."""
    return workshops.get(config, config_key(config))


def get_workshop_row(session: Session, workshop_id: str) -> WorkshopRow:
    """The workshop row, or NotFound."""
    row = session.get(WorkshopRow, workshop_id)
    if row is None:
        raise NotFound(f"no workshop {workshop_id!r}")
    return row


def find_day(session: Session, workshop_id: str, date: dt.date) -> DayRow | None:
    """The day's row if it has been created."""
    return session.scalars(
        select(DayRow).where(DayRow.workshop_id == workshop_id, DayRow.date == date)
    ).one_or_none()


def get_day(session: Session, workshop_id: str, date: dt.date) -> DayRow:
    """The day's row; NotFound naming the workshop or the day that is missing."""
    get_workshop_row(session, workshop_id)
    row = find_day(session, workshop_id, date)
    if row is None:
        raise NotFound(f"workshop {workshop_id!r} has no day {date.isoformat()}")
    return row


def insert_if_new(
    session: Session, model: type[Any], values: Mapping[str, Any], key: Sequence[str]
) -> None:
    """Insert a row unless one with the same ``key`` exists: of two transactions creating the
    same row at once, the second waits for the first and keeps its row instead of failing on
    the unique key."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=key))


def open_day(session: Session, workshop: WorkshopRow, date: dt.date, now: dt.datetime) -> DayRow:
    """Create the day's row if needed, then lock it as ``lock_day`` does."""
    values = {
        "workshop_id": workshop.id,
        "date": date,
        "config": workshop.config,
        "schedule_version": 0,
        "created_at": now,
    }
    insert_if_new(session, DayRow, values, ["workshop_id", "date"])
    day_id = session.scalar(
        select(DayRow.id).where(DayRow.workshop_id == workshop.id, DayRow.date == date)
    )
    assert day_id is not None
    return lock_day(session, day_id, now)


def lock_day(session: Session, day_id: int, now: dt.datetime) -> DayRow:
    """Lock the day's row for the rest of the transaction and release its expired holds.

    Every write to a day's schedule starts here, so writes to one day queue up and each sees
    the schedule as the previous one left it, without holds whose time is up.
    """
    row = session.scalars(
        select(DayRow)
        .options(defer(DayRow.config))  # loaded only if used: most writes never need it
        .where(DayRow.id == day_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    expire_holds(session, row, now)
    return row


def bump(day: DayRow) -> None:
    """Record that the day's committed schedule changed."""
    day.schedule_version += 1


def expire_holds(session: Session, day: DayRow, now: dt.datetime) -> int:
    """Release every hold of the day whose time is up; return how many were released.

    The schedule version is not bumped: every reader already leaves out a hold past its
    expiry (and a cached schedule is good only until its first hold expires), so releasing
    it changes nothing anyone can see. A re-plan solved before the expiry stays valid.
    """
    expired = list(
        session.scalars(
            select(HoldRow.id).where(
                HoldRow.day_id == day.id, HoldRow.status == HELD, HoldRow.expires_at <= now
            )
        )
    )
    if expired:
        release_holds(session, expired)
    return len(expired)


def release_holds(session: Session, hold_ids: Sequence[str]) -> None:
    """Free what holds reserved and mark them expired (their confirm answers 409)."""
    release_assignments(session, holds=hold_ids)
    # An ORM update: hold objects already loaded in this session see the new status too.
    session.execute(update(HoldRow).where(HoldRow.id.in_(hold_ids)).values(status=EXPIRED))


def release_assignments(
    session: Session, *, holds: Sequence[str] = (), bookings: Sequence[int] = ()
) -> None:
    """Delete the assignments, and so the reserved intervals, of holds and of bookings."""
    owned = AssignmentRow.hold_id.in_(list(holds)) | AssignmentRow.booking_pk.in_(list(bookings))
    ids = select(AssignmentRow.id).where(owned)
    session.execute(delete(ReservedIntervalRow).where(ReservedIntervalRow.assignment_id.in_(ids)))
    session.execute(delete(AssignmentRow).where(owned))


def add_bookings(
    session: Session,
    day: DayRow,
    bookings: Iterable[Booking],
    *,
    source: str,
    now: dt.datetime,
    hold_id: str | None = None,
) -> list[BookingRow]:
    """Store booked bookings after the day's existing ones (their ``position``), in order."""
    last = session.scalar(
        select(func.coalesce(func.max(BookingRow.position), -1)).where(BookingRow.day_id == day.id)
    )
    rows = [
        BookingRow(
            workshop_id=day.workshop_id,
            day_id=day.id,
            booking_id=b.id,
            customer=b.customer,
            vehicle=b.vehicle,
            services=list(b.services),
            arrival=b.arrival,
            waiting=b.waiting,
            promised=b.promised,
            priority=decimal_text(b.priority),
            technician=b.technician,
            status=BOOKED,
            source=source,
            hold_id=hold_id,
            position=int(last if last is not None else -1) + 1 + i,
            created_at=now,
        )
        for i, b in enumerate(bookings)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def reserve(
    session: Session,
    day: DayRow,
    workshop: Workshop,
    assignments: Iterable[Assignment],
    *,
    booking_pks: Mapping[str, int] | None = None,
    hold_id: str | None = None,
) -> None:
    """Store assignments of bookings (by id in ``booking_pks``) or of one hold, with their
    technician and bay intervals."""
    tz = zone(workshop.timezone)
    rows = []
    for a in assignments:
        row = AssignmentRow(
            day_id=day.id,
            booking_pk=None if booking_pks is None else booking_pks[a.booking],
            hold_id=hold_id,
            service=a.service,
            operation=a.operation,
            technician=a.technician,
            bay=a.bay,
            start_minute=a.start,
            end_minute=a.end,
        )
        rows.append(row)
    session.add_all(rows)
    session.flush()
    intervals = []
    for row in rows:
        start = to_datetime(day.date, tz, row.start_minute).astimezone(dt.UTC)
        end = to_datetime(day.date, tz, row.end_minute).astimezone(dt.UTC)
        for resource in (
            f"{workshop.id}/technician/{row.technician}",
            f"{workshop.id}/bay/{row.bay}",
        ):
            intervals.append(
                ReservedIntervalRow(
                    assignment_id=row.id, resource=resource, start_at=start, end_at=end
                )
            )
    session.add_all(intervals)
    session.flush()


@dataclass(frozen=True, slots=True)
class Schedule:
    """A day as the planners see it, with the committed schedule and where it came from."""

    row: DayRow
    day: Day  # booked bookings only
    booking_pks: dict[str, int]
    booking_assignments: list[Assignment]
    hold_assignments: list[Assignment]  # booking field is "hold:<id>"
    unscheduled: dict[str, str]  # booking id -> reason


def booking_of(row: BookingRow) -> Booking:
    """The domain booking of a stored booking row."""
    return make_booking(
        booking_id=row.booking_id,
        services=row.services,
        arrival=row.arrival,
        waiting=row.waiting,
        promised=row.promised,
        priority=row.priority,
        technician=row.technician,
        customer=row.customer,
        vehicle=row.vehicle,
    )


def load_schedule(session: Session, day_row: DayRow, now: dt.datetime) -> Schedule:
    """Read a day's bookings and committed schedule in three queries."""
    workshop = workshop_of(day_row.config)
    rows = session.scalars(
        select(BookingRow)
        .where(BookingRow.day_id == day_row.id, BookingRow.status == BOOKED)
        .order_by(BookingRow.position, BookingRow.pk)
    ).all()
    by_pk = {r.pk: r for r in rows}
    day = make_day(workshop, day_row.date, (booking_of(r) for r in rows))
    live_holds = select(HoldRow.id).where(
        HoldRow.day_id == day_row.id, HoldRow.status == HELD, HoldRow.expires_at > now
    )
    found = session.execute(
        select(
            AssignmentRow.booking_pk,
            AssignmentRow.hold_id,
            AssignmentRow.service,
            AssignmentRow.operation,
            AssignmentRow.technician,
            AssignmentRow.bay,
            AssignmentRow.start_minute,
            AssignmentRow.end_minute,
        ).where(
            AssignmentRow.day_id == day_row.id,
            (AssignmentRow.booking_pk.in_(list(by_pk))) | (AssignmentRow.hold_id.in_(live_holds)),
        )
    ).all()
    booked: list[Assignment] = []
    held: list[Assignment] = []
    for booking_pk, hold_id, service, operation, tech, bay, start, end in found:
        if booking_pk is not None:
            owner = by_pk[booking_pk].booking_id
            booked.append(Assignment(start, end, owner, service, operation, bay, tech))
        else:
            owner = HOLD_PREFIX + str(hold_id)
            held.append(Assignment(start, end, owner, service, operation, bay, tech))
    placed = {a.booking for a in booked}
    unscheduled = {
        r.booking_id: r.unscheduled_reason or "not placed in the current plan"
        for r in rows
        if r.booking_id not in placed
    }
    return Schedule(
        row=day_row,
        day=day,
        booking_pks={r.booking_id: r.pk for r in rows},
        booking_assignments=booked,
        hold_assignments=held,
        unscheduled=unscheduled,
    )


def latest_plan(session: Session, day_id: int) -> PlanRow | None:
    """The newest stored plan version of a day."""
    return session.scalars(
        select(PlanRow).where(PlanRow.day_id == day_id).order_by(PlanRow.version.desc()).limit(1)
    ).first()


def next_plan_version(session: Session, day_id: int) -> int:
    """The version number the next stored plan gets."""
    current = session.scalar(select(func.max(PlanRow.version)).where(PlanRow.day_id == day_id))
    return (current or 0) + 1


def verified(day: Day, plan: Plan) -> Plan:
    """``plan`` if it passes the checker; never store or serve an invalid plan."""
    violations = check_plan(day, plan)
    if violations:
        raise RuntimeError(
            f"refusing to store an invalid plan: {violations[0]} "
            f"({len(violations)} violation(s)); please report this"
        )
    return plan
