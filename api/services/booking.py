"""The online booking flow: exact slot offers, holds that expire, confirmation, cancellation.

An offer is exact: for each candidate drop-off time the booking is inserted into the day's
committed schedule (bookings and unexpired holds) at the earliest moment a qualified technician,
a matching bay and the parts are there, without moving anything already promised. That
insertion is the witness; it travels in the signed slot token and is re-checked under the day's
lock when the slot is held, so a hold either reserves exactly what was offered or gets a 409.
Holds carry an expiry time; every write to a day first releases the day's expired holds (under
the day's lock, ``schedule.lock_day``), so correctness never depends on a background job. A
hold is checked once more when it is confirmed: a day event may have taken its technician or
bay away since.

Holds and bookings made by an API client carry its id: the client's Idempotency-Keys are its
own (another client's key never replays to it), its open holds are capped
(``max_open_holds``, counted under a lock on the client's row so the cap holds across processes),
and each change writes its audit entry in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.models import (
    BOOKED,
    CANCELLED,
    CONFIRMED,
    EXPIRED,
    HELD,
    AssignmentRow,
    BookingRow,
    DayRow,
    HoldRow,
    WorkshopRow,
)
from api.db.session import is_exclusion_violation, is_unique_violation
from api.services import audit, clients
from api.services.audit import Actor
from api.services.context import Context, now_utc
from api.services.errors import (
    Conflict,
    HoldExpired,
    Invalid,
    NotFound,
    SlotTaken,
    TooManyRequests,
)
from api.services.idempotency import Answer, Keyed, once
from api.services.schedule import (
    HOLD_PREFIX,
    Schedule,
    add_bookings,
    bump,
    get_day,
    get_workshop_row,
    load_schedule,
    lock_day,
    open_day,
    release_assignments,
    release_holds,
    reserve,
    utc,
    workshop_of,
    workshops,
)
from api.services.tokens import SlotOffer, decode, encode
from scheduler.clock import from_datetime, to_datetime, to_iso, zone
from scheduler.dispatch import BookingNotPlaced, Dispatcher
from scheduler.domain import Booking, Day, Workshop
from scheduler.plan import Assignment

# -- slot search ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Slot:
    """One offer as answered: token, drop-off and promised times (ISO 8601 with offset)."""

    slot: str
    arrival: str
    promised: str
    waiting: bool
    services: tuple[str, ...]


def _loaded(day: Day, assignments: Sequence[Assignment]) -> Dispatcher:
    """A dispatcher holding the committed schedule (BookingNotPlaced if it is inconsistent)."""
    dispatcher = Dispatcher(day)
    for a in assignments:
        dispatcher.reserve(a)
    return dispatcher


def check_services(workshop: Workshop, services: Sequence[str]) -> tuple[str, ...]:
    """The service codes asked for, each once and in the catalogue; Invalid otherwise."""
    codes = tuple(s.strip() for s in services if s.strip())
    if not codes:
        raise Invalid("give at least one service code, e.g. services=MINOR", field="services")
    if len(set(codes)) != len(codes):
        raise Invalid("a service code is listed more than once", field="services")
    for code in codes:
        if code not in workshop.services:
            known = ", ".join(sorted(workshop.services))
            raise Invalid(f"unknown service code {code!r} (catalogue: {known})", field="services")
    return codes


def find_slots(
    *,
    ctx: Context,
    workshop_id: str,
    services: Sequence[str],
    waiting: bool,
    start: dt.datetime | None,
    end: dt.datetime | None,
) -> list[Slot]:
    """Every candidate drop-off between ``start`` and ``end`` with its earliest kept promise.

    Candidates are every ``slot_step_minutes`` of opening hours, not in the past. The day's
    schedule is read once per date and each candidate is inserted and taken back out.
    ``start`` and ``end`` are aware (the HTTP schema bounds them to the years 2000-2100).
    """
    now = now_utc(ctx)
    start = max(start, now) if start is not None else now
    end = end if end is not None else start + dt.timedelta(days=1)
    if end <= start:
        raise Invalid("'to' must be later than 'from' (and than now)", field="to")
    if end - start > dt.timedelta(days=ctx.settings.max_slot_days):
        raise Invalid(
            f"ask for at most {ctx.settings.max_slot_days} days of slots at once", field="to"
        )
    step = ctx.settings.slot_step_minutes
    caches = _caches(ctx)

    def work(session: Session) -> list[Slot]:
        out: list[Slot] = []
        base = workshop_of(get_workshop_row(session, workshop_id).config)
        codes = check_services(base, services)
        tz = zone(base.timezone)
        date = start.astimezone(tz).date()
        while to_datetime(date, tz, 0) < end:
            day, committed = _committed(session, base, workshop_id, date, now, caches)
            out.extend(_offers(ctx, day, committed, codes, waiting, start, end, step))
            date += dt.timedelta(days=1)
        return out

    return ctx.db.read_with(work)


@dataclass(frozen=True, slots=True)
class _Cached:
    day: Day
    committed: tuple[Assignment, ...]
    valid_until: dt.datetime | None  # the first live hold's expiry: it frees time then


class _SlotCaches:
    """This app's committed schedules by (day, version) (never shared between databases)."""

    def __init__(self) -> None:
        self.schedules: OrderedDict[tuple[int, int], _Cached] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[int, int], now: dt.datetime) -> _Cached | None:
        """The entry for ``key`` if there is one and no hold in it has expired by ``now``."""
        with self.lock:
            found = self.schedules.get(key)
        if found is None or (found.valid_until is not None and now >= found.valid_until):
            return None
        return found

    def put(self, key: tuple[int, int], entry: _Cached) -> None:
        """Keep ``entry`` (the 128 most recent entries are kept)."""
        with self.lock:
            self.schedules[key] = entry
            while len(self.schedules) > 128:
                self.schedules.popitem(last=False)


def clear_caches(ctx: Context) -> None:
    """Forget every cached schedule and parsed workshop, as after a change to every day (the
    slot benchmark's ``--cold`` measures queries from here)."""
    ctx.caches.clear()
    workshops.clear()


def _caches(ctx: Context) -> _SlotCaches:
    return ctx.cache("slots", _SlotCaches, _SlotCaches)


def _committed(
    session: Session,
    base: Workshop,
    workshop_id: str,
    date: dt.date,
    now: dt.datetime,
    caches: _SlotCaches,
) -> tuple[Day, tuple[Assignment, ...]]:
    """The day and its committed schedule, from a per-process cache when nothing changed.

    Every change to a day's schedule bumps ``schedule_version`` in the same transaction; a
    hold's expiry is the only change that does not (no reader sees an expired hold, released
    or not), so an entry is good for its (day, version) until the first live hold in it
    expires.
    """
    found = session.execute(
        select(DayRow.id, DayRow.schedule_version).where(
            DayRow.workshop_id == workshop_id, DayRow.date == date
        )
    ).first()
    if found is None:
        return Day(base, date, ()), ()
    key = (int(found[0]), int(found[1]))
    cached = caches.get(key, now)
    if cached is not None:
        return cached.day, cached.committed
    row = session.get(DayRow, key[0])
    assert row is not None
    # The read is one snapshot (Database.read), so the rows read match the version read.
    entry = _load_entry(session, row, now)
    caches.put(key, entry)
    return entry.day, entry.committed


def _load_entry(session: Session, row: DayRow, now: dt.datetime) -> _Cached:
    schedule = load_schedule(session, row, now)
    expiries = session.scalars(
        select(HoldRow.expires_at).where(
            HoldRow.day_id == row.id, HoldRow.status == HELD, HoldRow.expires_at > now
        )
    ).all()
    return _Cached(
        schedule.day,
        (*schedule.booking_assignments, *schedule.hold_assignments),
        min((utc(e) for e in expiries), default=None),
    )


def _committed_locked(
    session: Session, row: DayRow, now: dt.datetime, caches: _SlotCaches
) -> tuple[Day, tuple[Assignment, ...]]:
    """The committed schedule of a day whose row this transaction has locked.

    Under the lock the version cannot change, so a cached copy of it is exact; nothing is
    cached from here, since this transaction may still roll back.
    """
    cached = caches.get((row.id, row.schedule_version), now)
    if cached is not None:
        return cached.day, cached.committed
    entry = _load_entry(session, row, now)
    return entry.day, entry.committed


def _offers(
    ctx: Context,
    day: Day,
    committed: Sequence[Assignment],
    codes: tuple[str, ...],
    waiting: bool,
    start: dt.datetime,
    end: dt.datetime,
    step: int,
) -> list[Slot]:
    ws = day.workshop
    if any(code not in ws.services for code in codes):
        return []
    tz = zone(ws.timezone)
    first = max(ws.open, from_datetime(day.date, tz, start.replace(second=0, microsecond=0)))
    # Round up to the grid that starts at opening time.
    first = ws.open + -(-(first - ws.open) // step) * step
    last = min(ws.close - 1, from_datetime(day.date, tz, end.replace(second=0, microsecond=0)))
    dispatcher: Dispatcher | None = None
    out: list[Slot] = []
    for arrival in range(first, last + 1, step):
        instant = to_datetime(day.date, tz, arrival)
        if not start <= instant < end:
            continue
        if dispatcher is None:
            dispatcher = _loaded(day, committed)
        probe = Booking(id="offer", services=codes, arrival=arrival, waiting=waiting)
        try:
            witness = dispatcher.place(probe)
        except BookingNotPlaced:
            continue
        for a in witness:  # take the insertion back out: the next candidate sees the day
            dispatcher.release(a)
        promised = max(a.end for a in witness)
        offer = SlotOffer(
            ws.id, day.date.isoformat(), codes, waiting, arrival, promised, tuple(witness)
        )
        out.append(
            Slot(
                slot=encode(offer, ctx.token_key),
                arrival=to_iso(day.date, tz, arrival),
                promised=to_iso(day.date, tz, promised),
                waiting=waiting,
                services=codes,
            )
        )
    return out


# -- holds ------------------------------------------------------------------------------------


def _witness_problem(dispatcher: Dispatcher, day: Day, offer: SlotOffer) -> str | None:
    """Why the offer's witness no longer fits the schedule loaded in ``dispatcher``, or None.

    The witness is reserved in ``dispatcher`` as it is checked. Beyond what
    ``Dispatcher.conflict`` checks (skills, bay kinds, durations, free time, parts), the
    operations must still be the services' operations in order, none before the drop-off,
    since the day's data may have changed since the offer was made.
    """
    services = day.workshop.services
    try:
        expected = [(c, i) for c in offer.services for i in range(len(services[c].operations))]
    except KeyError as exc:
        return f"service {exc.args[0]} is no longer offered"
    if [(a.service, a.operation) for a in offer.witness] != expected:
        return "the offer does not match the service catalogue any more"
    previous_end = offer.arrival
    for a in offer.witness:
        if a.start < previous_end:
            return "the offer's times do not fit the work"
        problem = dispatcher.conflict(a)
        if problem is not None:
            return problem
        dispatcher.reserve(a)
        previous_end = a.end
    return None


def _reserve_hold(session: Session, row: DayRow, day: Day, offer: SlotOffer, hold_id: str) -> None:
    """Store the hold's witness; the exclusion constraint refusing it is a SlotTaken (409)."""
    witness = [
        Assignment(
            a.start, a.end, HOLD_PREFIX + hold_id, a.service, a.operation, a.bay, a.technician
        )
        for a in offer.witness
    ]
    try:
        with session.begin_nested():
            reserve(session, row, day.workshop, witness, hold_id=hold_id)
    except IntegrityError as exc:
        if not is_exclusion_violation(exc):
            raise
        raise SlotTaken("the slot is no longer free; ask for fresh offers") from exc


def _endpoint(actor: Actor, endpoint: str) -> str:
    """Where an Idempotency-Key is kept: per API client, so keys never cross clients."""
    return endpoint if actor.client_id is None else f"client {actor.client_id}: {endpoint}"


def create_hold(
    *, ctx: Context, workshop_id: str, slot: str, key: str | None, actor: Actor
) -> Answer:
    """Hold an offered slot for ``hold_minutes``: 201 with the hold, SlotTaken (409), or
    TooManyRequests (429) when the client has ``max_open_holds`` open holds already.

    With an Idempotency-Key the first answer, 201 or 409, is the answer to every retry.
    """
    request = Keyed.of(
        key,
        _endpoint(actor, f"POST /workshops/{workshop_id}/holds"),
        {"slot": slot},
        hours=ctx.settings.idempotency_hours,
    )

    def work(session: Session) -> Answer:
        now = now_utc(ctx)
        ws_row = get_workshop_row(session, workshop_id)
        offer = decode(slot, ctx.token_key)
        if offer.workshop != workshop_id:
            raise Invalid("the slot token is for another workshop", field="slot")
        row = open_day(session, ws_row, dt.date.fromisoformat(offer.date), now)
        return once(session, request, now, lambda: _hold(session, ctx, row, offer, now, actor))

    return _write(ctx, work).success()


def _check_open_holds(session: Session, ctx: Context, client_id: int, now: dt.datetime) -> None:
    """TooManyRequests if the client already has ``max_open_holds`` unexpired holds."""
    clients.lock_client(session, client_id)
    open_holds = session.execute(
        select(func.count(), func.min(HoldRow.expires_at)).where(
            HoldRow.client_id == client_id, HoldRow.status == HELD, HoldRow.expires_at > now
        )
    ).one()
    cap = ctx.settings.max_open_holds
    if open_holds[0] >= cap:
        first = utc(open_holds[1]) if open_holds[1] is not None else now
        raise TooManyRequests(
            f"this client has {open_holds[0]} open holds, the most it may have at once ({cap}); "
            "confirm or release one (DELETE /holds/{id}) before holding another",
            retry_after=(first - now).total_seconds(),
        )


def _hold(
    session: Session,
    ctx: Context,
    row: DayRow,
    offer: SlotOffer,
    now: dt.datetime,
    actor: Actor,
) -> Answer:
    if actor.client_id is not None:
        _check_open_holds(session, ctx, actor.client_id, now)
    day, committed = _committed_locked(session, row, now, _caches(ctx))
    tz = zone(day.workshop.timezone)
    if to_datetime(row.date, tz, offer.arrival) < now:
        raise SlotTaken("the slot's drop-off time has passed; ask for fresh offers")
    problem = _witness_problem(_loaded(day, committed), day, offer)
    if problem is not None:
        raise SlotTaken(f"the slot is no longer free: {problem}; ask for fresh offers")
    hold = HoldRow(
        id="H" + uuid.uuid4().hex[:20],
        workshop_id=row.workshop_id,
        day_id=row.id,
        services=list(offer.services),
        arrival=offer.arrival,
        waiting=offer.waiting,
        promised=offer.promised,
        # Whole seconds, so the time answered is exactly the time stored.
        expires_at=(now + dt.timedelta(minutes=ctx.settings.hold_minutes)).replace(microsecond=0),
        status=HELD,
        created_at=now,
        client_id=actor.client_id,
    )
    session.add(hold)
    session.flush()
    _reserve_hold(session, row, day, offer, hold.id)
    bump(row)
    public = _hold_public(hold, row, now, day.workshop.timezone)
    audit.record(
        session,
        actor,
        "hold.create",
        now=now,
        workshop=row.workshop_id,
        target=hold.id,
        detail={k: public[k] for k in ("arrival", "promised", "services", "expires_at")},
    )
    return Answer(201, public)


def _write(ctx: Context, work: Any) -> Answer:
    """Run a keyed write; if the same key was committed meanwhile, run it again to replay it."""
    try:
        result: Answer = ctx.db.write(work)
        return result
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        retried: Answer = ctx.db.write(work)
        return retried


def _locked_hold(session: Session, hold_id: str, now: dt.datetime) -> tuple[HoldRow, DayRow]:
    """The hold and its day, locked (expired holds released); NotFound for an unknown id."""
    day_id = session.scalar(select(HoldRow.day_id).where(HoldRow.id == hold_id))
    if day_id is None:
        raise NotFound(f"no hold {hold_id!r}")
    row = lock_day(session, day_id, now)
    hold = session.get(HoldRow, hold_id, populate_existing=True)
    assert hold is not None
    return hold, row


def release_hold(*, ctx: Context, hold_id: str, actor: Actor) -> dict[str, Any]:
    """Let a hold go before it expires (the customer changed their mind)."""

    def work(session: Session) -> dict[str, Any]:
        now = now_utc(ctx)
        hold, row = _locked_hold(session, hold_id, now)
        if hold.status == HELD:
            release_holds(session, [hold.id])
            bump(row)
            audit.record(
                session, actor, "hold.release", now=now, workshop=hold.workshop_id, target=hold.id
            )
        return _hold_public(hold, row, now, _timezone(session, hold.workshop_id))

    result: dict[str, Any] = ctx.db.write(work)
    return result


def _timezone(session: Session, workshop_id: str) -> str:
    found = session.scalar(select(WorkshopRow.timezone).where(WorkshopRow.id == workshop_id))
    if found is None:
        raise NotFound(f"no workshop {workshop_id!r}")
    return found


def _hold_public(hold: HoldRow, row: DayRow, now: dt.datetime, tz_name: str) -> dict[str, Any]:
    tz = zone(tz_name)
    expires = utc(hold.expires_at)
    status = hold.status
    if status == HELD and expires <= now:
        status = EXPIRED
    return {
        "id": hold.id,
        "status": status,
        "expires_at": expires.astimezone(tz).isoformat(),
        "workshop": hold.workshop_id,
        "arrival": to_iso(row.date, tz, hold.arrival),
        "promised": to_iso(row.date, tz, hold.promised),
        "waiting": hold.waiting,
        "services": list(hold.services),
        "booking": hold.booking_id,
    }


def get_hold(*, ctx: Context, hold_id: str) -> dict[str, Any]:
    """A hold and whether it is still held, expired or confirmed."""
    with ctx.db.read() as session:
        hold = session.get(HoldRow, hold_id)
        if hold is None:
            raise NotFound(f"no hold {hold_id!r}")
        row = session.get(DayRow, hold.day_id)
        assert row is not None
        return _hold_public(hold, row, now_utc(ctx), _timezone(session, hold.workshop_id))


# -- confirmation -----------------------------------------------------------------------------


def confirm_hold(
    *,
    ctx: Context,
    hold_id: str,
    customer: str,
    vehicle: str,
    key: str | None,
    actor: Actor,
) -> Answer:
    """Turn a hold into a booking (201); HoldExpired (409) if its time ran out, it was let go,
    or the day no longer has room for it. The booking belongs to the hold's client.

    The hold's reserved intervals pass to the booking in the same transaction, so there is no
    moment at which the slot is free for someone else. With an Idempotency-Key the first
    answer, 201 or 409, is the answer to every retry.
    """
    request = Keyed.of(
        key,
        _endpoint(actor, f"POST /holds/{hold_id}/confirm"),
        {"customer": customer, "vehicle": vehicle},
        hours=ctx.settings.idempotency_hours,
    )

    def work(session: Session) -> Answer:
        now = now_utc(ctx)
        hold, row = _locked_hold(session, hold_id, now)
        return once(
            session,
            request,
            now,
            lambda: _confirm(session, ctx, hold, row, customer, vehicle, now, actor),
        )

    return _write(ctx, work).success()


def _confirm(
    session: Session,
    ctx: Context,
    hold: HoldRow,
    row: DayRow,
    customer: str,
    vehicle: str,
    now: dt.datetime,
    actor: Actor,
) -> Answer:
    if hold.status == CONFIRMED:
        raise Conflict(f"hold {hold.id} is already confirmed as booking {hold.booking_id}")
    if hold.status != HELD:  # lock_day released it if its time was up
        raise HoldExpired(
            f"hold {hold.id} expired or was let go before it was confirmed; its slot was "
            "released, ask for fresh offers"
        )
    day, committed = _committed_locked(session, row, now, _caches(ctx))
    problem = _hold_problem(day, committed, HOLD_PREFIX + hold.id)
    if problem is not None:
        release_holds(session, [hold.id])
        bump(row)
        audit.record(
            session,
            actor,
            "hold.release",
            now=now,
            workshop=hold.workshop_id,
            target=hold.id,
            detail={"reason": f"no longer fits the day at confirmation: {problem}"},
        )
        # An answer, not a raise: the release must be committed with it.
        return Answer.of_error(
            HoldExpired(
                f"hold {hold.id} no longer fits the day ({problem}); its slot was released, "
                "ask for fresh offers"
            )
        )
    booking = Booking(
        id="B" + uuid.uuid4().hex[:12].upper(),
        services=tuple(hold.services),
        arrival=hold.arrival,
        waiting=hold.waiting,
        promised=hold.promised,
        customer=customer,
        vehicle=vehicle,
    )
    (stored,) = add_bookings(session, row, [booking], source="online", now=now, hold_id=hold.id)
    stored.client_id = hold.client_id
    session.execute(
        update(AssignmentRow)
        .where(AssignmentRow.hold_id == hold.id)
        .values(booking_pk=stored.pk, hold_id=None)
    )
    hold.status = CONFIRMED
    hold.booking_id = booking.id
    bump(row)
    audit.record(
        session,
        actor,
        "hold.confirm",
        now=now,
        workshop=hold.workshop_id,
        target=booking.id,
        detail={"hold": hold.id, "services": list(hold.services)},
    )
    public = _booking_public(stored, row, _ready_of(session, [stored.pk]), day.workshop.timezone)
    return Answer(201, {**public, "booking": booking.id, "hold": hold.id})


def _hold_problem(day: Day, committed: Sequence[Assignment], owner: str) -> str | None:
    """Why the hold ``owner``'s reservations no longer fit the day around everything else."""
    mine = [a for a in committed if a.booking == owner]
    if not mine:
        return "its reservations are gone"
    dispatcher = _loaded(day, [a for a in committed if a.booking != owner])
    for a in sorted(mine):
        problem = dispatcher.conflict(a)
        if problem is not None:
            return problem
        dispatcher.reserve(a)
    return None


# -- bookings ---------------------------------------------------------------------------------


def _ready_of(session: Session, pks: Sequence[int]) -> dict[int, int]:
    rows = session.execute(
        select(AssignmentRow.booking_pk, func.max(AssignmentRow.end_minute))
        .where(AssignmentRow.booking_pk.in_(pks))
        .group_by(AssignmentRow.booking_pk)
    ).all()
    return {int(pk): int(end) for pk, end in rows if pk is not None}


def _booking_public(
    row: BookingRow, day: DayRow, ready: dict[int, int], tz_name: str
) -> dict[str, Any]:
    tz = zone(tz_name)
    at = ready.get(row.pk)
    return {
        "id": row.booking_id,
        "workshop": row.workshop_id,
        "date": day.date.isoformat(),
        "customer": row.customer,
        "vehicle": row.vehicle,
        "services": list(row.services),
        "arrival": to_iso(day.date, tz, row.arrival),
        "waiting": row.waiting,
        "promised": None if row.promised is None else to_iso(day.date, tz, row.promised),
        "priority": row.priority,
        "technician": row.technician,
        "status": row.status,
        "source": row.source,
        "ready": None if at is None or row.status != BOOKED else to_iso(day.date, tz, at),
        "unscheduled_reason": row.unscheduled_reason if row.status == BOOKED else None,
    }


def list_bookings(
    *,
    ctx: Context,
    workshop_id: str,
    date: dt.date | None,
    status: str | None,
    owner: int | None = None,
) -> list[dict[str, Any]]:
    """The workshop's bookings, optionally of one date and one status, and only those made
    by API client ``owner`` when given."""
    with ctx.db.read() as session:
        get_workshop_row(session, workshop_id)
        query = (
            select(BookingRow, DayRow)
            .join(DayRow, DayRow.id == BookingRow.day_id)
            .where(BookingRow.workshop_id == workshop_id)
            .order_by(DayRow.date, BookingRow.arrival, BookingRow.booking_id)
        )
        if date is not None:
            query = query.where(DayRow.date == date)
        if status is not None:
            query = query.where(BookingRow.status == status)
        if owner is not None:
            query = query.where(BookingRow.client_id == owner)
        found = session.execute(query).all()
        ready = _ready_of(session, [b.pk for b, _ in found])
        tz_name = _timezone(session, workshop_id)
        return [_booking_public(b, d, ready, tz_name) for b, d in found]


def _find_booking(session: Session, workshop_id: str, booking_id: str) -> BookingRow:
    get_workshop_row(session, workshop_id)
    found = session.scalars(
        select(BookingRow).where(
            BookingRow.workshop_id == workshop_id, BookingRow.booking_id == booking_id
        )
    ).one_or_none()
    if found is None:
        raise NotFound(f"workshop {workshop_id!r} has no booking {booking_id!r}")
    return found


def get_booking(*, ctx: Context, workshop_id: str, booking_id: str) -> dict[str, Any]:
    """One booking with its ready time in the current plan."""
    with ctx.db.read() as session:
        found = _find_booking(session, workshop_id, booking_id)
        day = session.get(DayRow, found.day_id)
        assert day is not None
        return _booking_public(
            found, day, _ready_of(session, [found.pk]), _timezone(session, workshop_id)
        )


def cancel_booking(
    *, ctx: Context, workshop_id: str, booking_id: str, actor: Actor
) -> dict[str, Any]:
    """Cancel a booking and free its technician, bay and parts; cancelling twice is harmless
    (and writes no second audit entry)."""

    def work(session: Session) -> dict[str, Any]:
        now = now_utc(ctx)
        found = _find_booking(session, workshop_id, booking_id)
        day = lock_day(session, found.day_id, now)
        session.refresh(found)
        if found.status == BOOKED:
            release_assignments(session, bookings=[found.pk])
            found.status = CANCELLED
            found.cancelled_at = now
            bump(day)
            audit.record(
                session,
                actor,
                "booking.cancel",
                now=now,
                workshop=workshop_id,
                target=booking_id,
                detail={"date": day.date.isoformat(), "source": found.source},
            )
        return _booking_public(found, day, {}, _timezone(session, workshop_id))

    result: dict[str, Any] = ctx.db.write(work)
    return result


def schedule_snapshot(ctx: Context, workshop_id: str, date: dt.date) -> Schedule:
    """The day's schedule now (for tests and the benchmark)."""
    with ctx.db.read() as session:
        return load_schedule(session, get_day(session, workshop_id, date), now_utc(ctx))
