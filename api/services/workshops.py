"""Workshops and their days: load a day file into the database, read workshops back.

Loading stores the workshop sections of the day file and its bookings, then plans the day
with the dispatch heuristics so the bookings hold real technicians and bays: that committed
schedule is what slot search inserts new bookings into.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.db.models import HELD, BookingRow, DayEventRow, DayRow, HoldRow, WorkshopRow
from api.db.session import Database
from api.services import audit
from api.services.audit import SYSTEM, Actor
from api.services.clients import WORKSHOP_ID
from api.services.daydata import workshop_config
from api.services.errors import Conflict, Invalid
from api.services.plans import store_plan
from api.services.schedule import (
    add_bookings,
    get_workshop_row,
    open_day,
    release_assignments,
    release_holds,
)
from scheduler.domain import Day
from scheduler.io import load_day
from scheduler.solve import solve

FILE_SOURCE = "load"  # BookingRow.source of a booking that came from a day file


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What ``workshop load`` stored."""

    workshop: str
    date: dt.date
    bookings: int
    scheduled: int
    unscheduled: int
    plan_version: int


def load_day_file(
    db: Database,
    path: Path,
    *,
    replace: bool,
    now: dt.datetime,
    discard_online: bool = False,
    actor: Actor = SYSTEM,
) -> LoadResult:
    """Read a day file and store it; DayFileError for a bad file, Conflict if the day exists."""
    return store_day(
        db, load_day(path), replace=replace, discard_online=discard_online, now=now, actor=actor
    )


def check_ids(day: Day) -> None:
    """Invalid unless the workshop's and bookings' ids can be used in the API's paths."""
    rule = "use 1-100 letters, digits, '.', '_', '~' or '-', starting with a letter or digit"
    if not WORKSHOP_ID.fullmatch(day.workshop.id):
        raise Invalid(f"workshop id {day.workshop.id!r} cannot be served: {rule}")
    for b in day.bookings:
        if not WORKSHOP_ID.fullmatch(b.id):
            raise Invalid(f"booking id {b.id!r} cannot be served: {rule}")


def store_day(
    db: Database,
    day: Day,
    *,
    replace: bool,
    now: dt.datetime,
    discard_online: bool = False,
    actor: Actor = SYSTEM,
) -> LoadResult:
    """Store a workshop and its day of bookings, planned with the dispatch heuristics, and
    write a ``workshop.load`` audit entry for ``actor``.

    A day that already has bookings is replaced only with ``replace``, and only if everything
    on it came from a day file: bookings made online or as walk-ins, and the changes day events
    made, exist nowhere else, so they are deleted only with ``discard_online`` as well
    (otherwise Conflict says what would be lost). Holds on the day are released. The plan is
    made before the transaction opens, so no lock is held while planning. Ids the API could
    not address in a path are refused (Invalid) before anything is stored.
    """
    check_ids(day)
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
        row = open_day(session, ws, day.date, now)
        existing = session.scalar(
            select(func.count()).select_from(BookingRow).where(BookingRow.day_id == row.id)
        )
        if existing and not replace:
            raise Conflict(
                f"workshop {ws.id!r} already has {existing} booking(s) on "
                f"{day.date.isoformat()}; use --replace to load the day file over them"
            )
        if not discard_online:
            _refuse_to_lose(session, row)
        # Holds were made against the bookings being replaced: let them go with them.
        held = session.scalars(
            select(HoldRow.id).where(HoldRow.day_id == row.id, HoldRow.status == HELD)
        ).all()
        release_holds(session, held)
        pks = session.scalars(select(BookingRow.pk).where(BookingRow.day_id == row.id)).all()
        release_assignments(session, bookings=pks)
        session.execute(delete(BookingRow).where(BookingRow.day_id == row.id))
        session.execute(delete(DayEventRow).where(DayEventRow.day_id == row.id))
        row.config = config
        clash = session.scalars(
            select(BookingRow.booking_id).where(
                BookingRow.workshop_id == ws.id,
                BookingRow.booking_id.in_([b.id for b in day.bookings]),
            )
        ).first()
        if clash is not None:
            raise Conflict(f"booking id {clash!r} is already used on another day of {ws.id!r}")
        rows = add_bookings(session, row, day.bookings, source=FILE_SOURCE, now=now)
        pks_by_id = {r.booking_id: r.pk for r in rows}
        version = store_plan(session, row, day, plan, pks_by_id, reason="loaded", now=now)
        audit.record(
            session,
            actor,
            "workshop.load",
            now=now,
            workshop=ws.id,
            target=day.date.isoformat(),
            detail={
                "bookings": len(day.bookings),
                "replaced": bool(existing),
                "discarded_online": discard_online and bool(existing),
                "plan_version": version,
            },
        )
        return LoadResult(
            workshop=ws.id,
            date=day.date,
            bookings=len(day.bookings),
            scheduled=len(plan.scheduled_bookings()),
            unscheduled=len(plan.unscheduled),
            plan_version=version,
        )

    return db.write(work)


def _refuse_to_lose(session: Session, row: DayRow) -> None:
    """Conflict naming what replacing the day would delete that no day file holds."""
    sources = dict(
        session.execute(
            select(BookingRow.source, func.count())
            .where(BookingRow.day_id == row.id, BookingRow.source != FILE_SOURCE)
            .group_by(BookingRow.source)
        ).all()
    )
    events = session.scalar(
        select(func.count()).select_from(DayEventRow).where(DayEventRow.day_id == row.id)
    )
    lost = [f"{n} {source} booking(s)" for source, n in sorted(sources.items())]
    if events:
        lost.append(f"{events} day event(s) and the changes they made to the day")
    if lost:
        raise Conflict(
            f"{row.date.isoformat()} has {', '.join(lost)} that are not in the day file; "
            "loading it would delete them. Add --discard-online-bookings to load it anyway"
        )


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
