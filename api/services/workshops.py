"""Workshops and their days: load a day file into the database, read workshops back.

Loading stores the workshop sections of the day file and its bookings, then plans the day
with the dispatch heuristics so the bookings hold real technicians and bays: that committed
schedule is what slot search inserts new bookings into.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from api.db.models import BOOKED, EXPIRED, HELD, BookingRow, DayRow, HoldRow, WorkshopRow
from api.db.session import Database
from api.services.daydata import decimal_text, workshop_config
from api.services.errors import Conflict
from api.services.plans import store_plan
from api.services.schedule import (
    get_workshop_row,
    lock_day,
    release_booking_pks,
    release_hold_ids,
)
from scheduler.domain import Day
from scheduler.io import load_day
from scheduler.solve import solve


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What ``workshop load`` stored."""

    workshop: str
    date: dt.date
    bookings: int
    scheduled: int
    unscheduled: int
    plan_version: int


def load_day_file(db: Database, path: Path, *, replace: bool, now: dt.datetime) -> LoadResult:
    """Read a day file and store it; DayFileError for a bad file, Conflict if the day exists."""
    return store_day(db, load_day(path), replace=replace, now=now)


def store_day(db: Database, day: Day, *, replace: bool, now: dt.datetime) -> LoadResult:
    """Store a workshop and its day of bookings, planned with the dispatch heuristics.

    The plan is made before the transaction opens, so no lock is held while planning.
    """
    plan = solve(day, "dispatch")

    def work(session: Session) -> LoadResult:
        config = workshop_config(day.workshop)
        ws = session.get(WorkshopRow, day.workshop.id)
        if ws is None:
            ws = WorkshopRow(
                id=day.workshop.id,
                name=day.workshop.name,
                timezone=day.workshop.timezone,
                config=config,
                created_at=now,
                updated_at=now,
            )
            session.add(ws)
        else:
            ws.name, ws.timezone, ws.config, ws.updated_at = (
                day.workshop.name,
                day.workshop.timezone,
                config,
                now,
            )
        session.flush()
        row = lock_day(session, get_workshop_row(session, ws.id), day.date, now)
        existing = session.scalars(
            select(BookingRow.booking_id).where(BookingRow.day_id == row.id)
        ).all()
        if existing and not replace:
            raise Conflict(
                f"workshop {ws.id!r} already has {len(existing)} booking(s) on "
                f"{day.date.isoformat()}; use --replace to load the day file over them"
            )
        # Holds were made against the bookings being replaced: let them go with them.
        held = list(
            session.scalars(
                select(HoldRow.id).where(HoldRow.day_id == row.id, HoldRow.status == HELD)
            )
        )
        release_hold_ids(session, held)
        session.execute(update(HoldRow).where(HoldRow.id.in_(held)).values(status=EXPIRED))
        release_booking_pks(
            session,
            list(session.scalars(select(BookingRow.pk).where(BookingRow.day_id == row.id))),
        )
        session.execute(delete(BookingRow).where(BookingRow.day_id == row.id))
        row.config = config
        clash = session.scalars(
            select(BookingRow.booking_id).where(
                BookingRow.workshop_id == ws.id,
                BookingRow.booking_id.in_([b.id for b in day.bookings]),
            )
        ).first()
        if clash is not None:
            raise Conflict(f"booking id {clash!r} is already used on another day of {ws.id!r}")
        rows = [
            BookingRow(
                workshop_id=ws.id,
                day_id=row.id,
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
                source="load",
                position=i,
                created_at=now,
            )
            for i, b in enumerate(day.bookings)
        ]
        session.add_all(rows)
        session.flush()
        pks = {r.booking_id: r.pk for r in rows}
        version = store_plan(session, row, day, plan, pks, reason="loaded", now=now)
        return LoadResult(
            workshop=ws.id,
            date=day.date,
            bookings=len(day.bookings),
            scheduled=len(plan.scheduled_bookings()),
            unscheduled=len(plan.unscheduled),
            plan_version=version,
        )

    return db.write(work)


@dataclass(frozen=True, slots=True)
class WorkshopSummary:
    """A workshop and the days stored for it."""

    id: str
    name: str
    timezone: str
    days: list[dt.date]


def list_workshops(db: Database) -> list[WorkshopSummary]:
    """Every stored workshop with its days."""
    with db.read() as session:
        out = []
        for ws in session.scalars(select(WorkshopRow).order_by(WorkshopRow.id)):
            days = session.scalars(
                select(DayRow.date).where(DayRow.workshop_id == ws.id).order_by(DayRow.date)
            ).all()
            out.append(WorkshopSummary(ws.id, ws.name, ws.timezone, list(days)))
        return out


def get_workshop(db: Database, workshop_id: str) -> WorkshopSummary:
    """One workshop with its days, or NotFound."""
    with db.read() as session:
        ws = get_workshop_row(session, workshop_id)
        days = session.scalars(
            select(DayRow.date).where(DayRow.workshop_id == ws.id).order_by(DayRow.date)
        ).all()
        return WorkshopSummary(ws.id, ws.name, ws.timezone, list(days))
