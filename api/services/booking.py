"""The online booking flow: exact slot offers, holds that expire, confirmation, cancellation.

An offer is exact: for each candidate drop-off time the booking is inserted into the day's
committed schedule (bookings and unexpired holds) at the earliest moment a qualified technician,
a matching bay and the parts are there, without moving anything already promised. That
insertion is the witness; it travels in the signed slot token and is re-checked under the day's
lock when the slot is held, so a hold either reserves exactly what was offered or gets a 409.
Holds carry an expiry time; every write to a day first releases expired holds, so correctness
never depends on a background job.
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
from sqlalchemy.orm import Session, defer

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
from api.db.session import sqlstate
from api.services.context import Context, now_utc
from api.services.errors import Conflict, HoldExpired, Invalid, NotFound, SlotTaken
from api.services.idempotency import Answer, remember, request_hash, stored_answer
from api.services.schedule import (
    Schedule,
    bump,
    expire_holds,
    find_day,
    get_workshop_row,
    load_schedule,
    release_booking_pks,
    release_hold_ids,
    reserve,
    utc,
    workshop_of,
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


def _loaded(dispatcher: Dispatcher, assignments: Sequence[Assignment]) -> Dispatcher:
    for a in assignments:
        dispatcher.reserve(a)
    return dispatcher


def _unplace(dispatcher: Dispatcher, day: Day, assignments: Sequence[Assignment]) -> None:
    """Take a tentative insertion back out, so the next candidate sees the committed schedule."""
    for a in assignments:
        dispatcher.techs[a.technician].release(a.start, a.end)
        dispatcher.bays[a.bay].release(a.start, a.end)
        op = day.workshop.services[a.service].operations[a.operation]
        for sku, qty in op.parts.items():
            dispatcher.stock[sku].untake(a.start, qty)


def _check_services(workshop: Workshop, services: Sequence[str]) -> tuple[str, ...]:
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


def _aware(moment: dt.datetime, name: str) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Invalid(f"{name} needs a UTC offset, e.g. 2026-11-26T08:00:00+08:00", field=name)
    return moment


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
    """
    now = now_utc(ctx)
    start = max(_aware(start, "from"), now) if start is not None else now
    end = _aware(end, "to") if end is not None else start + dt.timedelta(days=1)
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
        base = _workshop(session, workshop_id, caches)
        codes = _check_services(base, services)
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
    """This app's parsed workshops and committed schedules (never shared between databases)."""

    def __init__(self) -> None:
        self.schedules: OrderedDict[tuple[int, int], _Cached] = OrderedDict()
        self.workshops: dict[tuple[str, dt.datetime], Workshop] = {}
        self.lock = threading.Lock()


def _caches(ctx: Context) -> _SlotCaches:
    found = ctx.caches.get("slots")
    if found is None:
        found = ctx.caches.setdefault("slots", _SlotCaches())
    assert isinstance(found, _SlotCaches)
    return found


def _workshop(session: Session, workshop_id: str, caches: _SlotCaches) -> Workshop:
    """The workshop's base data, re-read only when the workshop row changes."""
    stamp = session.scalar(select(WorkshopRow.updated_at).where(WorkshopRow.id == workshop_id))
    if stamp is None:
        raise NotFound(f"no workshop {workshop_id!r}")
    key = (workshop_id, stamp)
    with caches.lock:
        found = caches.workshops.get(key)
    if found is None:
        found = workshop_of(get_workshop_row(session, workshop_id).config)
        with caches.lock:
            if len(caches.workshops) > 256:
                caches.workshops.clear()
            caches.workshops[key] = found
    return found


def _committed(
    session: Session,
    base: Workshop,
    workshop_id: str,
    date: dt.date,
    now: dt.datetime,
    caches: _SlotCaches,
) -> tuple[Day, tuple[Assignment, ...]]:
    """The day and its committed schedule, from a per-process cache when nothing changed.

    Every change to a day's schedule bumps ``schedule_version`` in the same transaction, and
    a hold's expiry is the only change that happens without a write, so an entry is good for
    its (day, version) until the first live hold in it expires.
    """
    found = session.execute(
        select(DayRow.id, DayRow.schedule_version).where(
            DayRow.workshop_id == workshop_id, DayRow.date == date
        )
    ).first()
    if found is None:
        return Day(base, date, ()), ()
    key = (int(found[0]), int(found[1]))
    with caches.lock:
        cached = caches.schedules.get(key)
    if cached is not None and (cached.valid_until is None or now < cached.valid_until):
        return cached.day, cached.committed
    row = session.get(DayRow, key[0])
    assert row is not None
    entry = _load_entry(session, row, now)
    # Cache it only if no write landed while it was read (each write bumps the version).
    after = session.scalar(select(DayRow.schedule_version).where(DayRow.id == key[0]))
    if row.schedule_version == key[1] == after:
        _remember(caches, key, entry)
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


def _remember(caches: _SlotCaches, key: tuple[int, int], entry: _Cached) -> None:
    with caches.lock:
        caches.schedules[key] = entry
        while len(caches.schedules) > 128:
            caches.schedules.popitem(last=False)


def _committed_locked(
    session: Session, row: DayRow, now: dt.datetime, caches: _SlotCaches
) -> tuple[Day, tuple[Assignment, ...]]:
    """The committed schedule of a day whose row this transaction has locked.

    Nothing is cached from here: this transaction may still roll back.
    """
    key = (row.id, row.schedule_version)
    with caches.lock:
        cached = caches.schedules.get(key)
    if cached is not None and (cached.valid_until is None or now < cached.valid_until):
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
            dispatcher = _loaded(Dispatcher(day), committed)
        probe = Booking(id="offer", services=codes, arrival=arrival, waiting=waiting)
        try:
            witness = dispatcher.place(probe)
        except BookingNotPlaced:
            continue
        _unplace(dispatcher, day, witness)
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

    Checks the witness against the rules as well (skills, bay kinds, durations, order), since
    the day's data may have changed since the offer was made.
    """
    ws = day.workshop
    expected = [
        (code, i) for code in offer.services for i in range(len(ws.services[code].operations))
    ]
    got = [(a.service, a.operation) for a in offer.witness]
    if got != expected:
        return "the offer does not match the service catalogue any more"
    previous_end = offer.arrival
    taken: list[Assignment] = []
    try:
        for a in offer.witness:
            op = ws.services[a.service].operations[a.operation]
            tech, bay = ws.technician(a.technician), ws.bay(a.bay)
            if op.skill not in tech.skills or op.bay not in bay.kinds:
                return f"{tech.id} or {bay.id} can no longer do {a.service}"
            if a.end - a.start != tech.duration(op) or a.start < previous_end:
                return "the offer's times do not fit the work"
            if not dispatcher.techs[tech.id].free(a.start, a.end):
                return f"technician {tech.id} is no longer free then"
            if not dispatcher.bays[bay.id].free(a.start, a.end):
                return f"bay {bay.id} is no longer free then"
            for sku, qty in op.parts.items():
                if dispatcher.stock[sku].earliest(a.start, qty) != a.start:
                    return f"part {sku} is no longer in stock then"
            dispatcher.techs[tech.id].occupy(a.start, a.end)
            dispatcher.bays[bay.id].occupy(a.start, a.end)
            for sku, qty in op.parts.items():
                dispatcher.stock[sku].take(a.start, qty)
            taken.append(a)
            previous_end = a.end
    except KeyError as exc:
        return f"{exc.args[0]} is no longer part of the workshop"
    return None


def _lock_day_by_id(session: Session, day_id: int) -> DayRow:
    # The day's data (config) is large and rarely needed here: it loads only when used.
    return session.scalars(
        select(DayRow)
        .options(defer(DayRow.config))
        .where(DayRow.id == day_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def create_hold(*, ctx: Context, workshop_id: str, slot: str, key: str | None) -> Answer:
    """Hold an offered slot for ``hold_minutes``: 201 with the hold, or SlotTaken (409)."""
    from api.services.schedule import lock_day

    endpoint = f"POST /workshops/{workshop_id}/holds"
    digest = request_hash({"slot": slot})

    def work(session: Session) -> Answer:
        now = now_utc(ctx)
        ws_row = get_workshop_row(session, workshop_id)
        offer = decode(slot, ctx.token_key)
        if offer.workshop != workshop_id:
            raise Invalid("the slot token is for another workshop", field="slot")
        date = dt.date.fromisoformat(offer.date)
        row = lock_day(session, ws_row, date, now)
        replay = stored_answer(session, key, endpoint, digest)
        if replay is not None:
            return replay
        expire_holds(session, row, now)
        # Under the lock the version cannot change, so a cached copy of it is exact.
        day, committed = _committed_locked(session, row, now, _caches(ctx))
        tz = zone(day.workshop.timezone)
        if to_datetime(date, tz, offer.arrival) < now:
            raise SlotTaken("the slot's drop-off time has passed; ask for fresh offers")
        dispatcher = _loaded(Dispatcher(day), committed)
        problem = _witness_problem(dispatcher, day, offer)
        if problem is not None:
            raise SlotTaken(f"the slot is no longer free: {problem}; ask for fresh offers")
        hold_id = "H" + uuid.uuid4().hex[:20]
        expires = now + dt.timedelta(minutes=ctx.settings.hold_minutes)
        session.add(
            HoldRow(
                id=hold_id,
                workshop_id=workshop_id,
                day_id=row.id,
                services=list(offer.services),
                arrival=offer.arrival,
                waiting=offer.waiting,
                promised=offer.promised,
                expires_at=expires,
                status=HELD,
                created_at=now,
            )
        )
        session.flush()
        reserve(session, row, day.workshop, offer.witness, hold_id=hold_id)
        bump(row)
        answer = Answer(
            201,
            {
                "id": hold_id,
                "expires_at": utc(expires).isoformat(),
                "workshop": workshop_id,
                "arrival": to_iso(date, tz, offer.arrival),
                "promised": to_iso(date, tz, offer.promised),
                "waiting": offer.waiting,
                "services": list(offer.services),
            },
        )
        remember(session, key, endpoint, digest, answer, now)
        return answer

    return _write(ctx, work)


def _write(ctx: Context, work: Any) -> Answer:
    """Run a write; an exclusion-constraint refusal is a 409, a key raced in is replayed."""
    try:
        result: Answer = ctx.db.write(work)
        return result
    except IntegrityError as exc:
        code = sqlstate(exc)
        if code == "23P01":  # exclusion_violation: the database refused an overlap
            raise SlotTaken("the slot is no longer free; ask for fresh offers") from exc
        if code == "23505" or "UNIQUE" in str(exc):  # the same key committed meanwhile
            retried: Answer = ctx.db.write(work)
            return retried
        raise


def release_hold(*, ctx: Context, hold_id: str) -> dict[str, Any]:
    """Let a hold go before it expires (the customer changed their mind)."""

    def work(session: Session) -> dict[str, Any]:
        hold = session.get(HoldRow, hold_id)
        if hold is None:
            raise NotFound(f"no hold {hold_id!r}")
        row = _lock_day_by_id(session, hold.day_id)
        session.refresh(hold)
        if hold.status == HELD:
            release_hold_ids(session, [hold.id])
            hold.status = EXPIRED
            bump(row)
        return _hold_public(hold, row, now_utc(ctx), _timezone(session, hold.workshop_id))

    result: dict[str, Any] = ctx.db.write(work)
    return result


def _timezone(session: Session, workshop_id: str) -> str:
    found = session.scalar(select(WorkshopRow.timezone).where(WorkshopRow.id == workshop_id))
    if found is None:
        raise NotFound(f"no workshop {workshop_id!r}")
    return found


def _hold_public(hold: HoldRow, row: DayRow, now: dt.datetime, tz_name: str) -> dict[str, Any]:
    tz = zone(tz_name)
    status = hold.status
    if status == HELD and utc(hold.expires_at) <= now:
        status = EXPIRED
    return {
        "id": hold.id,
        "status": status,
        "expires_at": utc(hold.expires_at).isoformat(),
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
) -> Answer:
    """Turn a hold into a booking (201); HoldExpired (409) if its time ran out.

    The hold's reserved intervals pass to the booking in the same transaction, so there is no
    moment at which the slot is free for someone else.
    """
    endpoint = f"POST /holds/{hold_id}/confirm"
    digest = request_hash({"customer": customer, "vehicle": vehicle})
    expired_flag: list[bool] = []

    def work(session: Session) -> Answer:
        expired_flag.clear()
        now = now_utc(ctx)
        hold = session.get(HoldRow, hold_id)
        if hold is None:
            raise NotFound(f"no hold {hold_id!r}")
        row = _lock_day_by_id(session, hold.day_id)
        session.refresh(hold)
        replay = stored_answer(session, key, endpoint, digest)
        if replay is not None:
            return replay
        if hold.status == CONFIRMED:
            raise Conflict(
                f"hold {hold_id} is already confirmed as booking {hold.booking_id}",
            )
        if hold.status != HELD or utc(hold.expires_at) <= now:
            expire_holds(session, row, now)
            if hold.status == HELD:  # released by someone else since
                release_hold_ids(session, [hold.id])
                hold.status = EXPIRED
            expired_flag.append(True)
            return Answer(409, {})
        booking_id = "B" + uuid.uuid4().hex[:12].upper()
        position = session.scalar(
            select(func.coalesce(func.max(BookingRow.position), 0)).where(
                BookingRow.day_id == row.id
            )
        )
        booking = BookingRow(
            workshop_id=hold.workshop_id,
            day_id=row.id,
            booking_id=booking_id,
            customer=customer,
            vehicle=vehicle,
            services=list(hold.services),
            arrival=hold.arrival,
            waiting=hold.waiting,
            promised=hold.promised,
            priority="1",
            technician=None,
            status=BOOKED,
            source="online",
            hold_id=hold.id,
            position=(position or 0) + 1,
            created_at=now,
        )
        session.add(booking)
        session.flush()
        session.execute(
            update(AssignmentRow)
            .where(AssignmentRow.hold_id == hold.id)
            .values(booking_pk=booking.pk, hold_id=None)
        )
        hold.status = CONFIRMED
        hold.booking_id = booking_id
        bump(row)
        public = _booking_public(
            booking, row, _ready_of(session, [booking.pk]), _timezone(session, hold.workshop_id)
        )
        answer = Answer(201, {**public, "booking": booking_id, "hold": hold.id})
        remember(session, key, endpoint, digest, answer, now)
        return answer

    answer = _write(ctx, work)
    if expired_flag:
        raise HoldExpired(
            f"hold {hold_id} expired before it was confirmed; its slot was released, "
            "ask for fresh offers"
        )
    return answer


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
    *, ctx: Context, workshop_id: str, date: dt.date | None, status: str | None
) -> list[dict[str, Any]]:
    """The workshop's bookings, optionally of one date and one status."""
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


def cancel_booking(*, ctx: Context, workshop_id: str, booking_id: str) -> dict[str, Any]:
    """Cancel a booking and free its technician, bay and parts; cancelling twice is harmless."""

    def work(session: Session) -> dict[str, Any]:
        found = _find_booking(session, workshop_id, booking_id)
        day = _lock_day_by_id(session, found.day_id)
        session.refresh(found)
        if found.status == BOOKED:
            release_booking_pks(session, [found.pk])
            found.status = CANCELLED
            found.cancelled_at = now_utc(ctx)
            bump(day)
        return _booking_public(found, day, {}, _timezone(session, workshop_id))

    result: dict[str, Any] = ctx.db.write(work)
    return result


def schedule_snapshot(ctx: Context, workshop_id: str, date: dt.date) -> Schedule:
    """The day's schedule now (for tests and the benchmark)."""
    with ctx.db.read() as session:
        row = find_day(session, workshop_id, date)
        if row is None:
            raise NotFound(f"workshop {workshop_id!r} has no day {date.isoformat()}")
        return load_schedule(session, row, now_utc(ctx))
