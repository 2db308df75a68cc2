"""The day as it happens: re-plan on request and on day events, as stored plan versions.

A re-plan reads a snapshot of the day, solves it in the solver pool *outside* any database
transaction, then stores the result under the day's lock only if the day did not change in the
meantime (otherwise it solves again, a few times at most). The result passes ``check_plan``
before it is stored, and each booking whose ready time moved is listed so the customer can be
told.

Day events change the day's data before re-planning:
- ``overrun``: the technician and the bay stay busy ``minutes`` after the operation's planned
  end, and the booking's next operation waits for it;
- ``absent``: the technician is away from ``at`` (after finishing the job in hand) until
  ``until`` or the end of the day;
- ``part-late``: a delivery arrives later (or a new one is announced);
- ``walk-in``: a new booking arriving at ``at``.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import BOOKED, BookingRow, DayEventRow, DayRow
from api.services.booking import _check_services
from api.services.context import Context, now_utc
from api.services.daydata import booking_dict, day_to_dict, decimal_text
from api.services.errors import Conflict, Invalid, NotFound
from api.services.plans import store_plan
from api.services.replan import ReplanJob, ReplanResult, from_rows, run_replan, to_rows
from api.services.schedule import (
    Schedule,
    find_day,
    get_workshop_row,
    load_schedule,
    workshop_of,
)
from api.services.solver import SolverPool
from scheduler.clock import format_hhmm, from_datetime, to_iso, zone
from scheduler.domain import Booking, Day
from scheduler.io import DayFileError
from scheduler.plan import Plan, PlanStatus, Unscheduled, ready_times

ATTEMPTS = 3


@dataclass(slots=True)
class Change:
    """What an event does to the day before it is re-planned."""

    config: dict[str, Any]
    walk_in: Booking | None = None
    ready_after: dict[str, int] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)


def _minute(date: dt.date, tz_name: str, moment: dt.datetime, name: str) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Invalid(f"{name} needs a UTC offset", field=name)
    return from_datetime(date, zone(tz_name), moment.replace(second=0, microsecond=0))


def _ready_after(session: Session, day_id: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for data in session.scalars(
        select(DayEventRow.data).where(DayEventRow.day_id == day_id, DayEventRow.kind == "overrun")
    ):
        booking, minute = str(data["booking"]), int(data["ready_after"])
        out[booking] = max(out.get(booking, 0), minute)
    return out


def _solver(ctx: Context) -> SolverPool:
    if ctx.solver is None:
        ctx.solver = SolverPool(ctx.settings.solver_processes)
    return ctx.solver


def _moves(schedule: Schedule, day: Day, plan: Plan) -> list[dict[str, Any]]:
    tz = zone(day.workshop.timezone)
    before, after = ready_times(schedule.booking_assignments), ready_times(plan.assignments)
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
    time_limit: float = 5.0,
    now: dt.datetime | None = None,
    change: Callable[[Schedule, int], Change] | None = None,
    reason: str = "re-plan",
) -> dict[str, Any]:
    """Re-plan the day (after applying ``change``) and store it as a new plan version."""
    for _ in range(ATTEMPTS):
        with ctx.db.read() as session:
            ws_row = get_workshop_row(session, workshop_id)
            row = find_day(session, workshop_id, date)
            if row is None:
                raise NotFound(f"workshop {workshop_id!r} has no day {date.isoformat()}")
            moment = now or now_utc(ctx)
            minute = max(0, min(24 * 60, _minute(date, ws_row.timezone, moment, "now")))
            schedule = load_schedule(session, row, now_utc(ctx))
            ready_after = _ready_after(session, row.id)
            version = row.schedule_version
            day_id = row.id
        applied = change(schedule, minute) if change is not None else Change(row.config)
        ready_after.update(applied.ready_after)
        data = {**day_to_dict(schedule.day), **applied.config}
        if applied.walk_in is not None:
            data["bookings"] = [*data["bookings"], booking_dict(applied.walk_in)]
        try:
            new_day = _parse(data)
        except DayFileError as exc:
            raise Invalid(f"the event makes the day invalid: {exc}") from exc
        job = ReplanJob(
            day=data,
            previous=to_rows(schedule.booking_assignments),
            holds=to_rows(schedule.hold_assignments),
            now=minute,
            ready_after=ready_after,
            method=method,
            time_limit=time_limit,
            full=change is None,
        )
        result: ReplanResult = _solver(ctx).run(run_replan, job, time_limit=time_limit)
        plan = Plan.build(
            new_day,
            from_rows(result.assignments),
            [Unscheduled(b, r) for b, r in result.unscheduled],
            status=PlanStatus(result.status),
            lower_bound=Fraction(result.lower_bound),
        )

        stored = ctx.db.write(
            functools.partial(
                _store,
                ctx=ctx,
                day_id=day_id,
                version=version,
                applied=applied,
                schedule=schedule,
                day=new_day,
                plan=plan,
                frozen=result.frozen,
                minute=minute,
                reason=reason,
            )
        )
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
    reason: str,
) -> dict[str, Any] | None:
    """Store the re-plan under the day's lock, unless the day changed since the snapshot."""
    row = session.scalars(
        select(DayRow)
        .where(DayRow.id == day_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if row.schedule_version != version:
        return None  # someone booked or cancelled meanwhile: solve again
    row.config = applied.config
    pks = dict(schedule.booking_pks)
    if applied.walk_in is not None:
        pks[applied.walk_in.id] = _add_walk_in(session, row, applied.walk_in, ctx)
    stored_version = store_plan(session, row, day, plan, pks, reason=reason, now=now_utc(ctx))
    event_id = None
    if applied.record:
        event = DayEventRow(
            day_id=row.id,
            kind=str(applied.record["kind"]),
            data=applied.record,
            at_minute=minute,
            plan_version=stored_version,
            created_at=now_utc(ctx),
        )
        session.add(event)
        session.flush()
        event_id = event.id
    return {
        "version": stored_version,
        "status": plan.status.value,
        "objective": float(plan.objective),
        "frozen": frozen,
        "moved": _moves(schedule, day, plan),
        "unscheduled": [{"booking": u.booking, "reason": u.reason} for u in plan.unscheduled],
        "event": event_id,
    }


def _parse(data: dict[str, Any]) -> Day:
    from scheduler.io import parse_day

    return parse_day(data, source="<day after the event>")


def _add_walk_in(session: Session, row: DayRow, booking: Booking, ctx: Context) -> int:
    position = session.scalar(
        select(func.coalesce(func.max(BookingRow.position), 0)).where(BookingRow.day_id == row.id)
    )
    walk_in = BookingRow(
        workshop_id=row.workshop_id,
        day_id=row.id,
        booking_id=booking.id,
        customer=booking.customer,
        vehicle=booking.vehicle,
        services=list(booking.services),
        arrival=booking.arrival,
        waiting=booking.waiting,
        promised=booking.promised,
        priority=decimal_text(booking.priority),
        technician=None,
        status=BOOKED,
        source="walk-in",
        position=(position or 0) + 1,
        created_at=now_utc(ctx),
    )
    session.add(walk_in)
    session.flush()
    return walk_in.pk


def _windows_add(windows: list[list[str]], start: int, end: int) -> list[list[str]]:
    if start >= end:
        return windows
    return [*windows, [format_hhmm(start), format_hhmm(end)]]


def event_change(
    event: dict[str, Any], tz_name: str, date: dt.date
) -> Callable[[Schedule, int], Change]:
    """The change a day event makes, as a function of the day's snapshot and the event minute."""
    kind = event["kind"]

    def at_minute(name: str) -> int | None:
        value = event.get(name)
        return None if value is None else _minute(date, tz_name, value, name)

    def change(schedule: Schedule, now: int) -> Change:
        config = copy.deepcopy({k: v for k, v in schedule.row.config.items()})
        ws = workshop_of(schedule.row.config)
        if not 0 <= now < 24 * 60:
            raise Invalid("the event's time 'at' must lie within the day", field="at")
        record: dict[str, Any] = {"kind": kind, "at": format_hhmm(now)}
        ready_after: dict[str, int] = {}
        walk_in = None
        if kind == "overrun":
            booking_id, minutes = event.get("booking"), event.get("minutes")
            if not booking_id or not minutes:
                raise Invalid("an overrun needs 'booking' and 'minutes'", field="booking")
            ops = sorted(a for a in schedule.booking_assignments if a.booking == booking_id)
            started = [a for a in ops if a.start <= now]
            if booking_id not in schedule.booking_pks:
                raise NotFound(f"no booked booking {booking_id!r} on this day")
            if not started:
                raise Invalid(f"booking {booking_id} has not started by {format_hhmm(now)}")
            op = started[-1]
            extra_end = min(24 * 60, op.end + int(minutes))
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
            until = at_minute("until") or 24 * 60
            # The job in hand is finished first: cars on a lift are not abandoned.
            busy_until = max(
                [
                    a.end
                    for a in schedule.booking_assignments
                    if a.technician == tech_id and a.start < now <= a.end
                ]
                or [now]
            )
            for tech in config["technicians"]:
                if tech["id"] == tech_id:
                    tech["absent"] = _windows_add(
                        tech.get("absent") or [], busy_until, min(until, 24 * 60)
                    )
            record.update(
                technician=tech_id, start=format_hhmm(busy_until), until=format_hhmm(until)
            )
        elif kind == "part-late":
            sku, arrives = event.get("sku"), at_minute("arrives")
            if not sku or sku not in ws.parts:
                raise Invalid(f"unknown part {sku!r}", field="sku")
            if arrives is None or not now <= arrives <= 24 * 60:
                raise Invalid("'arrives' must be a time later today", field="arrives")
            expected = at_minute("expected")
            for part in config["parts"]:
                if part["sku"] != sku:
                    continue
                kept, moved = [], 0
                for when, qty in part.get("deliveries") or []:
                    minute = _hhmm(when)
                    due = minute == expected if expected is not None else minute > now
                    if due:
                        moved += qty
                    else:
                        kept.append([when, qty])
                total = moved if event.get("quantity") is None else int(event["quantity"])
                if total:
                    kept.append([format_hhmm(arrives), total])
                part["deliveries"] = sorted(kept, key=lambda d: _hhmm(d[0]))
            record.update(sku=sku, arrives=format_hhmm(arrives))
        elif kind == "walk-in":
            codes = _check_services(ws, event.get("services") or [])
            walk_in = Booking(
                id="W" + uuid.uuid4().hex[:12].upper(),
                services=codes,
                arrival=now,
                waiting=bool(event.get("waiting", True)),
                customer=str(event.get("customer") or ""),
                vehicle=str(event.get("vehicle") or ""),
            )
            record.update(booking=walk_in.id, services=list(codes))
        return Change(config=config, walk_in=walk_in, ready_after=ready_after, record=record)

    return change


def _hhmm(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def post_event(
    *, ctx: Context, workshop_id: str, date: dt.date, event: dict[str, Any]
) -> dict[str, Any]:
    """Record a day event and re-plan around it (started operations frozen)."""
    with ctx.db.read() as session:
        tz_name = get_workshop_row(session, workshop_id).timezone
    return replan_day(
        ctx=ctx,
        workshop_id=workshop_id,
        date=date,
        method="cpsat" if event.get("method") == "cpsat" else "dispatch",
        time_limit=float(event.get("time_limit") or 5.0),
        now=event.get("at"),
        change=event_change(event, tz_name, date),
        reason=f"event: {event['kind']}",
    )
