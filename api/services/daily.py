"""The day as it happens: re-plan on request and on day events, as stored plan versions.

A re-plan reads a snapshot of the day, solves it in the solver pool *outside* any database
transaction, then stores the result under the day's lock only if the day did not change in the
meantime (otherwise it solves again, a few times at most). The result passes ``check_plan``
before it is stored, and each booking whose ready time moved is listed so the customer can be
told. Holds the changed day no longer has room for are released in the same transaction and
listed too; their confirm answers 409.

Day events change the day's data before re-planning:
- ``overrun``: the booking's operation under way at ``at`` (the last one started before it)
  takes ``minutes`` longer: its technician and bay stay busy that long after its planned end,
  the booking's next operation waits for it, and the car is ready no earlier than that. The
  operation keeps its planned times in the plan (durations there are the catalogue's), so the
  moved promise is worked out with the overrun (``ready_with_overruns``);
- ``absent``: the technician is away from ``at`` (after finishing the job in hand) until
  ``until`` or the end of the day;
- ``part-late``: a delivery arrives later (or a new one is announced);
- ``walk-in``: a new booking arriving at ``at``.

An event is applied at its time ``at`` but the day is re-planned from the later of ``at`` and
the clock: work that has started by then stays as it was and nothing new starts earlier, so an
event posted late never moves work that is under way or plans any in the past. An event that
contradicts work recorded as started (an overrun or an absence during work that started since)
is refused with a 409 naming both.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.models import HELD, DayEventRow, HoldRow
from api.db.session import is_exclusion_violation
from api.services import audit
from api.services.audit import Actor
from api.services.booking import check_services
from api.services.context import Context, now_utc
from api.services.daydata import booking_dict, day_to_dict
from api.services.errors import Conflict, Invalid, NotFound
from api.services.plans import store_plan
from api.services.replan import (
    ReplanJob,
    ReplanResult,
    StartedWorkDoesNotFit,
    fit_holds,
    from_rows,
    operation_name,
    ready_with_overruns,
    run_replan,
    to_rows,
)
from api.services.schedule import (
    HOLD_PREFIX,
    Schedule,
    add_bookings,
    get_day,
    get_workshop_row,
    load_schedule,
    lock_day,
    release_holds,
    workshop_of,
)
from scheduler.clock import format_hhmm, from_datetime, parse_hhmm, to_datetime, to_iso, zone
from scheduler.dispatch import Dispatcher
from scheduler.domain import Booking, Day
from scheduler.io import DayFileError, parse_day
from scheduler.plan import Assignment, Plan, PlanStatus, Unscheduled
from scheduler.planfile import json_number

ATTEMPTS = 3
DAY = 24 * 60
NOW_SLACK = dt.timedelta(days=2)  # how far from its day a re-plan's ``now`` may lie
log = logging.getLogger("workshop.daily")


@dataclass(slots=True)
class Change:
    """What an event does to the day before it is re-planned."""

    config: dict[str, Any]
    walk_in: Booking | None = None
    ready_after: dict[str, int] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    at: int | None = None  # the event's minute, when it is not the re-plan's


def _minute(date: dt.date, tz_name: str, moment: dt.datetime) -> int:
    """Wall-clock minutes of ``moment`` since midnight of ``date`` (seconds dropped)."""
    return from_datetime(date, zone(tz_name), moment.replace(second=0, microsecond=0))


def _clamped(date: dt.date, tz_name: str, moment: dt.datetime) -> int:
    """The minute of ``moment`` on ``date``: 0 before the day, 24:00 after it."""
    return max(0, min(DAY, _minute(date, tz_name, moment)))


def _timezone(ctx: Context, workshop_id: str) -> str:
    with ctx.db.read() as session:
        return get_workshop_row(session, workshop_id).timezone


def _ready_after(session: Session, day_id: int, version: int | None = None) -> dict[str, int]:
    """Booking -> the minute its overruns end, from the day's overrun events (those stored
    with plan ``version`` or earlier, when given)."""
    query = select(DayEventRow.data).where(
        DayEventRow.day_id == day_id, DayEventRow.kind == "overrun"
    )
    if version is not None:
        query = query.where(DayEventRow.plan_version <= version)
    out: dict[str, int] = {}
    for data in session.scalars(query):
        booking, minute = str(data["booking"]), int(data["ready_after"])
        out[booking] = max(out.get(booking, 0), minute)
    return out


def overruns_at_version(
    ctx: Context, workshop_id: str, date: dt.date, version: int
) -> dict[str, int]:
    """Booking -> the minute its overruns end, as known when plan ``version`` was stored."""
    with ctx.db.read() as session:
        return _ready_after(session, get_day(session, workshop_id, date).id, version)


def _merged(first: dict[str, int], second: dict[str, int]) -> dict[str, int]:
    out = dict(first)
    for booking, minute in second.items():
        out[booking] = max(out.get(booking, minute), minute)
    return out


def _moves(
    schedule: Schedule,
    day: Day,
    plan: Plan,
    overruns_before: dict[str, int],
    overruns_after: dict[str, int],
) -> list[dict[str, Any]]:
    """Each booking whose car is ready at another time than before, overruns counted."""
    tz = zone(day.workshop.timezone)
    before = ready_with_overruns(schedule.booking_assignments, overruns_before)
    after = ready_with_overruns(plan.assignments, overruns_after)
    out = []
    for booking in day.bookings:
        old, new = before.get(booking.id), after.get(booking.id)
        if old is None or old == new:
            continue
        out.append(
            {
                "booking": booking.id,
                "customer": booking.customer,
                "before": to_iso(day.date, tz, old),
                "after": None if new is None else to_iso(day.date, tz, new),
                "minutes": None if new is None else new - old,
            }
        )
    return out


def replan_day(
    *,
    ctx: Context,
    workshop_id: str,
    date: dt.date,
    method: str = "dispatch",
    time_limit: float | None = None,
    now: dt.datetime | None = None,
    actor: Actor,
) -> dict[str, Any]:
    """Re-plan the day and store it as a new plan version (audited as ``actor``'s).

    Operations started before ``now`` (default: the clock) stay as they are; ``now`` must lie
    within two days of the day (Invalid otherwise). ``time_limit`` defaults to the
    ``solve_time_limit`` setting.
    """
    tz_name = _timezone(ctx, workshop_id)
    if now is None:
        minute = _clamped(date, tz_name, now_utc(ctx))
    else:
        tz = zone(tz_name)
        first, last = to_datetime(date, tz, 0), to_datetime(date, tz, DAY)
        if not first - NOW_SLACK <= now <= last + NOW_SLACK:
            raise Invalid(
                f"now must lie within two days of {date.isoformat()}, got {now.isoformat()}",
                field="now",
            )
        minute = _clamped(date, tz_name, now)
    return _replan(ctx, workshop_id, date, method, time_limit, minute, None, "re-plan", actor)


def _replan(
    ctx: Context,
    workshop_id: str,
    date: dt.date,
    method: str,
    time_limit: float | None,
    minute: int,
    change: Callable[[Schedule, int], Change] | None,
    reason: str,
    actor: Actor,
) -> dict[str, Any]:
    """Apply ``change`` to a snapshot of the day, solve, and store unless the day changed."""
    limit = time_limit or ctx.settings.solve_time_limit
    for _ in range(ATTEMPTS):
        with ctx.db.read() as session:
            row = get_day(session, workshop_id, date)
            schedule = load_schedule(session, row, now_utc(ctx))
            ready_after = _ready_after(session, row.id)
            version = row.schedule_version
            day_id = row.id
        applied = change(schedule, minute) if change is not None else Change(row.config)
        overruns_before = ready_after
        ready_after = _merged(ready_after, applied.ready_after)
        data = {**day_to_dict(schedule.day), **applied.config}
        if applied.walk_in is not None:
            data["bookings"] = [*data["bookings"], booking_dict(applied.walk_in)]
        try:
            new_day = parse_day(data, source="<day after the event>")
        except DayFileError as exc:
            raise Invalid(f"the event makes the day invalid: {exc}") from exc
        job = ReplanJob(
            day=data,
            previous=to_rows(schedule.booking_assignments),
            holds=to_rows(schedule.hold_assignments),
            now=minute,
            ready_after=ready_after,
            method=method,
            time_limit=limit,
            full=change is None,
        )
        try:
            result: ReplanResult = ctx.solver.run(run_replan, job, time_limit=limit)
        except StartedWorkDoesNotFit as exc:
            raise Conflict(str(exc)) from exc
        plan = Plan.build(
            new_day,
            from_rows(result.assignments),
            [Unscheduled(b, r) for b, r in result.unscheduled],
            status=PlanStatus(result.status),
            lower_bound=Fraction(result.lower_bound),
        )
        store = functools.partial(
            _store,
            ctx=ctx,
            day_id=day_id,
            version=version,
            applied=applied,
            schedule=schedule,
            day=new_day,
            plan=plan,
            frozen=result.frozen,
            minute=minute if applied.at is None else applied.at,
            overruns=(overruns_before, ready_after),
            reason=reason,
            actor=actor,
            method=method,
        )
        try:
            stored: dict[str, Any] | None = ctx.db.write(store)
        except IntegrityError as exc:
            if not is_exclusion_violation(exc):
                raise
            # The day lock makes this unexpected; the database kept the schedule whole, so
            # solve again from a fresh snapshot rather than lose the event.
            log.warning("re-plan of %s %s refused an overlap; solving again", workshop_id, date)
            continue
        if stored is not None:
            return stored
    raise Conflict("the day kept changing while it was being re-planned; try again")


def _store(
    session: Session,
    *,
    ctx: Context,
    day_id: int,
    version: int,
    applied: Change,
    schedule: Schedule,
    day: Day,
    plan: Plan,
    frozen: int,
    minute: int,
    overruns: tuple[dict[str, int], dict[str, int]],
    reason: str,
    actor: Actor,
    method: str,
) -> dict[str, Any] | None:
    """Store the re-plan under the day's lock, unless the day changed since the snapshot,
    with its audit entry (``day.event`` for an event, ``plan.replan`` otherwise)."""
    now = now_utc(ctx)
    row = lock_day(session, day_id, now)
    if row.schedule_version != version:
        return None  # someone booked or cancelled meanwhile: solve again
    row.config = applied.config
    pks = dict(schedule.booking_pks)
    if applied.walk_in is not None:
        (walk_in,) = add_bookings(session, row, [applied.walk_in], source="walk-in", now=now)
        pks[walk_in.booking_id] = walk_in.pk
    stored_version = store_plan(session, row, day, plan, pks, reason=reason, now=now)
    released = _release_holds_that_no_longer_fit(session, row.id, schedule, day, plan)
    event_id = None
    if applied.record:
        event = DayEventRow(
            day_id=row.id,
            kind=str(applied.record["kind"]),
            data=applied.record,
            at_minute=minute,
            plan_version=stored_version,
            created_at=now,
        )
        session.add(event)
        session.flush()
        event_id = event.id
    audit.record(
        session,
        actor,
        "day.event" if applied.record else "plan.replan",
        now=now,
        workshop=row.workshop_id,
        target=row.date.isoformat(),
        detail={
            **({"event": applied.record} if applied.record else {}),
            "method": method,
            "version": stored_version,
            "status": plan.status.value,
            "objective": json_number(plan.objective),
            "released_holds": sorted(released),
        },
    )
    return {
        "version": stored_version,
        "status": plan.status.value,
        "objective": json_number(plan.objective),
        "frozen": frozen,
        "moved": _moves(schedule, day, plan, *overruns),
        "unscheduled": [{"booking": u.booking, "reason": u.reason} for u in plan.unscheduled],
        "released_holds": [{"hold": h, "reason": r} for h, r in sorted(released.items())],
        "event": event_id,
    }


def _release_holds_that_no_longer_fit(
    session: Session, day_id: int, schedule: Schedule, day: Day, plan: Plan
) -> dict[str, str]:
    """Release the live holds whose witness does not fit the new day and plan; say why.

    Runs under the day's lock after ``store_plan`` (whose version bump covers this change too:
    it is one transaction). The live holds are the snapshot's, less those released since.
    """
    live = set(
        session.scalars(select(HoldRow.id).where(HoldRow.day_id == day_id, HoldRow.status == HELD))
    )
    holds = [a for a in schedule.hold_assignments if a.booking.removeprefix(HOLD_PREFIX) in live]
    if not holds:
        return {}
    dispatcher = Dispatcher(day)
    for a in plan.assignments:  # a checked plan: it fits
        dispatcher.reserve(a)
    _, unfit = fit_holds(dispatcher, holds)
    released = {owner.removeprefix(HOLD_PREFIX): why for owner, why in unfit.items()}
    if released:
        release_holds(session, list(released))
    return released


def _windows_add(windows: list[list[str]], start: int, end: int) -> list[list[str]]:
    if start >= end:
        return windows
    return [*windows, [format_hhmm(start), format_hhmm(end)]]


@dataclass(frozen=True, slots=True)
class EventTimes:
    """The times of a day event as minutes of its day, each checked to lie within it."""

    at: int
    until: int | None = None
    arrives: int | None = None
    expected: int | None = None


def event_times(event: dict[str, Any], date: dt.date, tz_name: str, now: dt.datetime) -> EventTimes:
    """Minutes of the event's times on ``date``; Invalid naming the first one that is off.

    ``at`` (default: now, or the day's start for a day still to come) must lie within the
    day; ``until`` after ``at`` and no later than the end of the day (midnight after it);
    ``arrives`` from ``at`` to the end of the day; ``expected`` within the day.
    """
    day = f"the day {date.isoformat()} ({tz_name})"

    def minute(name: str) -> int | None:
        value = event.get(name)
        return None if value is None else _minute(date, tz_name, value)

    at = minute("at")
    if at is None:
        at = _clamped(date, tz_name, now)
        if at >= DAY:
            raise Invalid(f"{day} is over; give 'at' for an event within it", field="at")
    elif not 0 <= at < DAY:
        raise Invalid(f"at is not within {day}", field="at")
    until = minute("until")
    if until is not None and not at < until <= DAY:
        raise Invalid(
            f"until must be later than at ({format_hhmm(at)}) and no later than the end of {day}",
            field="until",
        )
    arrives = minute("arrives")
    if arrives is not None and not at <= arrives <= DAY:
        raise Invalid(
            f"arrives must lie between at ({format_hhmm(at)}) and the end of {day}",
            field="arrives",
        )
    expected = minute("expected")
    if expected is not None and not 0 <= expected < DAY:
        raise Invalid(f"expected is not within {day}", field="expected")
    return EventTimes(at, until, arrives, expected)


def _hhmm_span(start: int, end: int) -> str:
    return f"{format_hhmm(start)}-{format_hhmm(end)}"


def _overrun_operation(schedule: Schedule, booking_id: str, at: int) -> Assignment:
    """The operation an overrun posted at ``at`` is about: the booking's last one started
    before ``at`` (Invalid if none has; one starting at ``at`` may still be moved)."""
    ops = sorted(a for a in schedule.booking_assignments if a.booking == booking_id)
    started = [a for a in ops if a.start < at]
    if not started:
        when = (
            f"its first operation starts at {format_hhmm(ops[0].start)}"
            if ops
            else "it is not placed today"
        )
        raise Invalid(
            f"booking {booking_id} has not started before {format_hhmm(at)} ({when}); "
            "an overrun is about work under way",
            field="booking",
        )
    return started[-1]


def _refuse_overrun_over_started_work(
    schedule: Schedule, op: Assignment, minutes: int, until: int, now: int
) -> None:
    """Conflict if keeping ``op``'s technician and bay busy until ``until`` contradicts work
    recorded as started before ``now``: other work on either during the overrun, or the
    booking's next operation started before the overrun ends."""
    day = schedule.day
    what = (
        f"booking {op.booking}'s {operation_name(day, op)} was planned to end at "
        f"{format_hhmm(op.end)}; {minutes} minutes longer"
    )
    for a in sorted(schedule.booking_assignments):
        if a == op or a.start >= now or not a.start < until:
            continue
        if a.booking == op.booking:
            if a.start >= op.end:
                raise Conflict(
                    f"{what} it ends at {format_hhmm(until)}, but the booking's next "
                    f"operation, {operation_name(day, a)}, started at {format_hhmm(a.start)}"
                )
            continue
        shared = [
            f"technician {op.technician}" if a.technician == op.technician else "",
            f"bay {op.bay}" if a.bay == op.bay else "",
        ]
        if any(shared) and op.end < a.end:
            held = " and ".join(x for x in shared if x)
            raise Conflict(
                f"{what} would keep {held} busy until {format_hhmm(until)}, but booking "
                f"{a.booking} started {operation_name(day, a)} there at {format_hhmm(a.start)} "
                f"({_hhmm_span(a.start, a.end)})"
            )


def _refuse_absence_over_started_work(
    schedule: Schedule, tech_id: str, start: int, until: int, now: int
) -> None:
    """Conflict if the technician's absence ``[start, until)`` covers work recorded as started
    with them before ``now`` (an absence posted after they went on working)."""
    for a in sorted(schedule.booking_assignments):
        if a.technician == tech_id and a.start < now and a.start < until and start < a.end:
            raise Conflict(
                f"technician {tech_id} cannot be away from {format_hhmm(start)}: booking "
                f"{a.booking} started {operation_name(schedule.day, a)} with {tech_id} at "
                f"{format_hhmm(a.start)} ({_hhmm_span(a.start, a.end)})"
            )


def event_change(event: dict[str, Any], times: EventTimes) -> Callable[[Schedule, int], Change]:
    """The change a day event makes, as a function of the day's snapshot and the minute the
    day is re-planned from (``now``: work started before it is kept as it is).

    The event itself happens at ``times.at``, which may be earlier than ``now`` (posted late).
    """
    kind = event["kind"]
    at = times.at

    def change(schedule: Schedule, now: int) -> Change:
        config = copy.deepcopy(dict(schedule.row.config))
        ws = workshop_of(schedule.row.config)
        record: dict[str, Any] = {"kind": kind, "at": format_hhmm(at)}
        ready_after: dict[str, int] = {}
        walk_in = None
        if kind == "overrun":
            booking_id, minutes = event.get("booking"), event.get("minutes")
            if not booking_id or not minutes:
                raise Invalid("an overrun needs 'booking' and 'minutes'", field="booking")
            if booking_id not in schedule.booking_pks:
                raise NotFound(f"no booked booking {booking_id!r} on this day")
            op = _overrun_operation(schedule, booking_id, at)
            extra_end = min(DAY, op.end + int(minutes))
            _refuse_overrun_over_started_work(schedule, op, int(minutes), extra_end, now)
            for tech in config["technicians"]:
                if tech["id"] == op.technician:
                    tech["absent"] = _windows_add(tech.get("absent") or [], op.end, extra_end)
            for bay in config["bays"]:
                if bay["id"] == op.bay:
                    bay["unavailable"] = _windows_add(
                        bay.get("unavailable") or [], op.end, extra_end
                    )
            ready_after[booking_id] = extra_end
            record.update(booking=booking_id, minutes=minutes, ready_after=extra_end)
        elif kind == "absent":
            tech_id = event.get("technician")
            if not tech_id or tech_id not in {t.id for t in ws.technicians}:
                raise Invalid(f"unknown technician {tech_id!r}", field="technician")
            until = DAY if times.until is None else times.until
            # The job in hand is finished first: cars on a lift are not abandoned.
            busy_until = max(
                [
                    a.end
                    for a in schedule.booking_assignments
                    if a.technician == tech_id and a.start < at <= a.end
                ]
                or [at]
            )
            _refuse_absence_over_started_work(schedule, tech_id, busy_until, until, now)
            for tech in config["technicians"]:
                if tech["id"] == tech_id:
                    tech["absent"] = _windows_add(tech.get("absent") or [], busy_until, until)
            record.update(
                technician=tech_id, start=format_hhmm(busy_until), until=format_hhmm(until)
            )
        elif kind == "part-late":
            sku = event.get("sku")
            if not sku or sku not in ws.parts:
                raise Invalid(f"unknown part {sku!r}", field="sku")
            if times.arrives is None:
                raise Invalid("a late part needs 'arrives', a time later today", field="arrives")
            for part in config["parts"]:
                if part["sku"] == sku:
                    part["deliveries"] = _late_deliveries(
                        sku, part.get("deliveries") or [], at, times, event.get("quantity")
                    )
            record.update(sku=sku, arrives=format_hhmm(times.arrives))
        elif kind == "walk-in":
            codes = check_services(ws, event.get("services") or [])
            walk_in = Booking(
                id="W" + uuid.uuid4().hex[:12].upper(),
                services=codes,
                arrival=at,
                waiting=bool(event.get("waiting", True)),
                customer=str(event.get("customer") or ""),
                vehicle=str(event.get("vehicle") or ""),
            )
            record.update(booking=walk_in.id, services=list(codes))
        return Change(config=config, walk_in=walk_in, ready_after=ready_after, record=record, at=at)

    return change


def _late_deliveries(
    sku: str, deliveries: list[list[Any]], at: int, times: EventTimes, quantity: int | None
) -> list[list[Any]]:
    """A part's deliveries after the one expected at ``expected`` (else every one still to
    come) moved to ``arrives``, as ``quantity`` units if given.

    Invalid if nothing matches: an ``expected`` time with no delivery, or nothing still to
    come and no ``quantity`` to announce.
    """
    assert times.arrives is not None
    kept, moved, matched = [], 0, False
    for when, qty in deliveries:
        minute = parse_hhmm(when)
        due = minute == times.expected if times.expected is not None else minute > at
        if due:
            moved, matched = moved + qty, True
        else:
            kept.append([when, qty])
    if not matched and times.expected is not None:
        listed = ", ".join(str(when) for when, _ in deliveries) or "none"
        raise Invalid(
            f"no delivery of {sku} is expected at {format_hhmm(times.expected)} "
            f"(deliveries: {listed})",
            field="expected",
        )
    if not matched and quantity is None:
        raise Invalid(
            f"no delivery of {sku} is still to come after {format_hhmm(at)}; "
            "give 'quantity' to announce one",
            field="quantity",
        )
    kept.append([format_hhmm(times.arrives), moved if quantity is None else quantity])
    return sorted(kept, key=lambda d: parse_hhmm(d[0]))


def post_event(
    *, ctx: Context, workshop_id: str, date: dt.date, event: dict[str, Any], actor: Actor
) -> dict[str, Any]:
    """Record a day event and re-plan around it (started operations frozen), audited as
    ``actor``'s.

    The day is re-planned from the later of the event's ``at`` and the clock, so an event
    posted late moves nothing that has started since and plans nothing in the past.

    ``event`` is a ``DayEvent`` as a dict; its times are checked against the day first.
    """
    tz_name = _timezone(ctx, workshop_id)
    moment = now_utc(ctx)
    times = event_times(event, date, tz_name, moment)
    # Re-planned from the present when posted late: what started meanwhile stays.
    minute = max(times.at, _clamped(date, tz_name, moment))
    return _replan(
        ctx,
        workshop_id,
        date,
        "cpsat" if event.get("method") == "cpsat" else "dispatch",
        event.get("time_limit"),
        minute,
        event_change(event, times),
        f"event: {event['kind']}",
        actor,
    )
