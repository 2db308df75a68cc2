"""Workshops and their days: load a day file into the database, read workshops back.

Loading stores the workshop sections of the day file and its bookings, then plans the day
with the dispatch heuristics so the bookings hold real technicians and bays: that committed
schedule is what slot search inserts new bookings into.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import yaml
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.db.models import BOOKED, HELD, BookingRow, DayEventRow, DayRow, HoldRow, WorkshopRow
from api.db.session import Database
from api.services import audit
from api.services.audit import SYSTEM, Actor
from api.services.clients import WORKSHOP_ID
from api.services.daydata import workshop_config
from api.services.errors import Conflict, DayFileInvalid, Invalid, UnsupportedMediaType
from api.services.plans import store_plan
from api.services.schedule import (
    add_bookings,
    booking_of,
    get_workshop_row,
    insert_if_new,
    latest_plan,
    open_day,
    release_assignments,
    release_holds,
)
from scheduler.domain import Day
from scheduler.io import DayFileError, FieldReader, PathKey, load_day, parse_day, read_yaml
from scheduler.solve import solve

FILE_SOURCE = "load"  # BookingRow.source of a booking that came from a day file
LOADED = "loaded"  # PlanRow.reason of the plan a day file was loaded with
DAY_FILE_TYPES = (
    "application/yaml",
    "application/x-yaml",
    "text/yaml",
    "text/x-yaml",
    "application/json",
)
"""Media types a day file may be sent as over HTTP (JSON is read as the YAML it is)."""
CLI_OPTIONS = ("--replace", "--discard-online-bookings")
HTTP_OPTIONS = ("replace=true", "discard_online_bookings=true")


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


def _has_aliases(text: str) -> bool:
    """Whether YAML text uses anchors and aliases (``&a`` ... ``*a``): a few hundred bytes of
    nested aliases stand for billions of values, so text from the network may not use them."""
    try:
        return any(
            isinstance(event, yaml.AliasEvent)
            for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        )
    except yaml.YAMLError:
        return False  # the reader reports the error with its line


@dataclass(frozen=True, slots=True)
class SentFile:
    """A file sent in a request: the name the sender gave it (a label, never a path that is
    opened) and its bytes."""

    name: str
    data: bytes


def _text(data: bytes, source: str) -> str:
    """Sent bytes as text: UTF-8, with or without the byte-order mark spreadsheets write."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DayFileInvalid([f"{source}: is not UTF-8 text"]) from exc


def _sent_csv(
    data: object, lines: dict[PathKey, int], source: str, csv: SentFile | None, csv_allowed: bool
) -> str | None:
    """The text of the bookings CSV a sent day file names (None: it lists its bookings).

    Over PUT the body is the day file alone, so a CSV file name is refused (it would be read
    from the server's disk); from the day board's form the CSV comes with the day file, and
    must be the one the day file names.
    """
    named = data.get("bookings") if isinstance(data, dict) else None
    where = FieldReader(source, lines).where(("bookings",))
    if not isinstance(named, str):
        # A file without bookings (or not a mapping at all) is for parse_day to report.
        if csv is not None and isinstance(data, dict) and data.get("bookings") is not None:
            raise DayFileInvalid(
                [
                    f"{where}: the day file lists its bookings, so the bookings CSV "
                    f"{csv.name!r} sent with it would be ignored; send the day file alone, or "
                    f"name the CSV under bookings:"
                ],
                field="bookings",
            )
        return None
    if not csv_allowed:
        raise DayFileInvalid(
            [
                f"{source}: bookings: list the bookings in the file; a bookings CSV file "
                "cannot be sent over HTTP with PUT (the day board's upload form takes one)"
            ],
            field="bookings",
        )
    wanted = PurePath(named).name
    if csv is None:
        raise DayFileInvalid(
            [f"{where}: names the bookings CSV {wanted!r}; choose that file as the bookings CSV"],
            field="bookings",
        )
    if csv.name != wanted:
        raise DayFileInvalid(
            [f"{where}: names the bookings CSV {wanted!r}, but the CSV sent is {csv.name!r}"],
            field="bookings",
        )
    return _text(csv.data, csv.name)


def parse_sent_day(
    body: bytes,
    media_type: str,
    *,
    workshop_id: str,
    date: dt.date | None,
    source: str = "day file",
    bookings_csv: SentFile | None = None,
    csv_allowed: bool = False,
) -> Day:
    """The day file a request sent (YAML or JSON) for ``workshop_id`` on ``date`` (None: the
    day the file names).

    Refuses (DayFileInvalid, each problem naming ``source``, the line and field where it can)
    anything the command line would refuse, and more, because the text comes from the network:
    anchors and aliases, a ``bookings:`` CSV file name unless ``csv_allowed`` and the CSV is
    ``bookings_csv`` (nothing is ever read from the server's disk), and a file for another
    workshop or date than the address it was sent to. UnsupportedMediaType for a body that is
    neither YAML nor JSON.
    """
    if media_type not in DAY_FILE_TYPES:
        raise UnsupportedMediaType(
            f"send the day file as application/yaml or application/json, not {media_type!r}"
        )
    text = _text(body, source)
    if _has_aliases(text):
        raise DayFileInvalid(
            [f"{source}: anchors and aliases (&name, *name) are not accepted; write the values out"]
        )
    try:
        data, lines = read_yaml(text, source=source)
        csv_text = _sent_csv(data, lines, source, bookings_csv, csv_allowed)
        day = parse_day(data, source=source, lines=lines, base_dir=None, bookings_csv=csv_text)
    except DayFileError as exc:
        raise DayFileInvalid([str(p) for p in exc.problems]) from exc
    if day.workshop.id != workshop_id:
        raise DayFileInvalid(
            [
                f"{source}: workshop.id is {day.workshop.id!r}, but it was sent to "
                f"workshop {workshop_id!r}"
            ],
            field="workshop",
        )
    if date is not None and day.date != date:
        raise DayFileInvalid(
            [f"{source}: day is {day.date.isoformat()}, but it was sent to {date.isoformat()}"],
            field="day",
        )
    return day


def load_sent_day(
    db: Database,
    body: bytes,
    media_type: str,
    *,
    workshop_id: str,
    date: dt.date | None,
    replace: bool,
    discard_online: bool,
    now: dt.datetime,
    actor: Actor,
    source: str = "day file",
    bookings_csv: SentFile | None = None,
    csv_allowed: bool = False,
    options: tuple[str, str] = HTTP_OPTIONS,
) -> LoadResult:
    """Store a day file sent over HTTP, by ``PUT /workshops/{id}/days/{date}`` or the day
    board's upload form (see ``parse_sent_day`` and ``store_day``; ``options`` names the
    replace and discard switches as the sender knows them)."""
    day = parse_sent_day(
        body,
        media_type,
        workshop_id=workshop_id,
        date=date,
        source=source,
        bookings_csv=bookings_csv,
        csv_allowed=csv_allowed,
    )
    return store_day(
        db,
        day,
        replace=replace,
        discard_online=discard_online,
        now=now,
        actor=actor,
        options=options,
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
    options: tuple[str, str] = CLI_OPTIONS,
) -> LoadResult:
    """Store a workshop and its day of bookings, planned with the dispatch heuristics, and
    write a ``workshop.load`` audit entry for ``actor``.

    Loading the very day already stored (same workshop and bookings, nothing happened to it
    since) stores nothing and answers as the first load did, so a retry is harmless. Otherwise
    a day that already has bookings is replaced only with ``replace``, and only if everything
    on it came from a day file: bookings made online or as walk-ins, and the changes day events
    made, exist nowhere else, so they are deleted only with ``discard_online`` as well
    (otherwise Conflict says what would be lost). Holds on the day are released. The plan is
    made before the transaction opens, so no lock is held while planning. Ids the API could
    not address in a path are refused (Invalid) before anything is stored. ``options`` names
    the replace and discard switches in Conflict's advice (command-line flags by default).
    """
    check_ids(day)
    plan = solve(day, "dispatch")

    def work(session: Session) -> LoadResult:
        config = workshop_config(day.workshop)
        values = {
            "name": day.workshop.name,
            "timezone": day.workshop.timezone,
            "config": config,
            "updated_at": now,
        }
        # Two first loads of one new workshop at once (two of its days sent together) both
        # create it: the second finds the first's row and updates it.
        insert_if_new(
            session, WorkshopRow, {"id": day.workshop.id, "created_at": now, **values}, ["id"]
        )
        ws = session.get_one(WorkshopRow, day.workshop.id)
        row = open_day(session, ws, day.date, now)
        existing = session.scalar(
            select(func.count()).select_from(BookingRow).where(BookingRow.day_id == row.id)
        )
        if existing and not replace:
            # Before the workshop's settings are written: a retry changes nothing.
            same = _already_loaded(session, row, day, config)
            if same is not None:
                return same
            raise Conflict(
                f"workshop {ws.id!r} already has {existing} booking(s) on "
                f"{day.date.isoformat()}; use {options[0]} to load the day file over them"
            )
        for name, value in values.items():
            setattr(ws, name, value)
        session.flush()
        if not discard_online:
            _refuse_to_lose(session, row, options[1])
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
        version = store_plan(session, row, day, plan, pks_by_id, reason=LOADED, now=now)
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


def _already_loaded(
    session: Session, row: DayRow, day: Day, config: dict[str, Any]
) -> LoadResult | None:
    """What the first load stored, when the day holds exactly ``day``'s workshop and bookings
    as a day file loaded them and nothing has happened to it since: a retried load (a lost
    answer, a script run twice) then gets the first answer instead of a conflict."""
    if row.config != config:  # plain lists, dicts, strings and ints: stored as they are
        return None
    if session.scalar(select(DayEventRow.id).where(DayEventRow.day_id == row.id).limit(1)):
        return None
    rows = session.scalars(
        select(BookingRow)
        .where(BookingRow.day_id == row.id)
        .order_by(BookingRow.position, BookingRow.pk)
    ).all()
    if any(r.source != FILE_SOURCE or r.status != BOOKED for r in rows):
        return None
    if [booking_of(r) for r in rows] != list(day.bookings):
        return None
    plan = latest_plan(session, row.id)
    if plan is None or plan.reason != LOADED:  # re-planned since
        return None
    return LoadResult(
        workshop=row.workshop_id,
        date=row.date,
        bookings=len(rows),
        scheduled=len({a["booking"] for a in plan.data["assignments"]}),
        unscheduled=len(plan.data["unscheduled"]),
        plan_version=plan.version,
    )


def _refuse_to_lose(session: Session, row: DayRow, option: str) -> None:
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
            f"loading it would delete them. Add {option} to load it anyway"
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
