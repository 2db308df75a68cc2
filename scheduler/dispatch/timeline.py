"""Dispatch through the day: whenever a technician and a bay are free, start the most urgent job.

This is how a well-run workshop floor works (a non-delay schedule): the clock moves from event
to event (a car arrives, a job ends, a break is over, parts arrive) and at each moment every
car whose next operation can start is ranked by urgency; the most urgent goes first. No
technician stands idle while a car waits for work they could do, so the day stays compact, and
the ranking decides who waits. A booking still unfinished when the last shift ends is taken
out whole and, if possible, fitted into a gap later on; otherwise it is left unscheduled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scheduler.dispatch.dispatcher import BookingNotPlaced, Dispatcher, Schedule
from scheduler.domain import Booking, Day
from scheduler.plan import Assignment, Unscheduled

Urgency = Callable[[Booking, int, int], float]
"""How urgent a car is: (booking, its remaining standard minutes, now) -> higher goes first."""


@dataclass(slots=True, eq=False)
class _Car:
    """A booked car's progress through its operations."""

    booking: Booking
    next_index: int
    ready_at: int
    remaining: int  # standard minutes of work still to do
    placed: list[Assignment]


def dispatch_in_time(day: Day, urgency: Urgency) -> Schedule:
    """Run the day event by event, starting the most urgent startable operation first."""
    dispatcher = Dispatcher(day)
    operations = {b.id: day.operations(b) for b in day.bookings}
    arrivals = sorted(day.bookings, key=lambda b: (b.arrival, b.id))
    deliveries = sorted({at for p in day.workshop.parts.values() for at, _ in p.deliveries})
    last_shift_end = max((t.shift[1] for t in day.workshop.technicians), default=0)
    skills = {t.id: t.skills for t in day.workshop.technicians}
    kinds = {b.id: b.kinds for b in day.workshop.bays}
    on_site: list[_Car] = []
    finished: list[_Car] = []
    arrived = 0
    now = arrivals[0].arrival if arrivals else last_shift_end
    while now < last_shift_end and (on_site or arrived < len(arrivals)):
        while arrived < len(arrivals) and arrivals[arrived].arrival <= now:
            b = arrivals[arrived]
            work = sum(op.minutes for _, _, op in operations[b.id])
            on_site.append(_Car(b, 0, b.arrival, work, []))
            arrived += 1
        startable = [car for car in on_site if car.ready_at <= now]
        idle = dispatcher.idle(now)
        if startable and idle[0] and idle[1]:
            startable.sort(
                key=lambda c: (
                    -urgency(c.booking, c.remaining, now),
                    c.booking.arrival,
                    c.booking.id,
                )
            )
        idle_skills = {s for tid in idle[0] for s in skills[tid]}
        idle_kinds = {k for bid in idle[1] for k in kinds[bid]}
        for car in startable:
            if not idle[0] or not idle[1]:
                break
            code, index, op = operations[car.booking.id][car.next_index]
            if op.skill not in idle_skills or op.bay not in idle_kinds:
                continue
            assignment = dispatcher.start_at(car.booking, code, index, op, now, idle)
            if assignment is None:
                continue
            idle[0].discard(assignment.technician)
            idle[1].discard(assignment.bay)
            idle_skills = {s for tid in idle[0] for s in skills[tid]}
            idle_kinds = {k for bid in idle[1] for k in kinds[bid]}
            car.placed.append(assignment)
            car.next_index += 1
            car.ready_at = assignment.end
            car.remaining -= op.minutes
            if car.next_index == len(operations[car.booking.id]):
                on_site.remove(car)
                finished.append(car)
        now = _next_event(now, dispatcher, on_site, arrivals, arrived, deliveries, last_shift_end)
    return _close_day(dispatcher, finished, on_site, arrivals[arrived:], urgency, last_shift_end)


def _next_event(
    now: int,
    dispatcher: Dispatcher,
    on_site: list[_Car],
    arrivals: list[Booking],
    arrived: int,
    deliveries: list[int],
    horizon: int,
) -> int:
    """The next moment anything can change: an arrival, a job end, a resource freed, parts."""
    candidates = [horizon]
    if arrived < len(arrivals):
        candidates.append(arrivals[arrived].arrival)
    candidates.extend(car.ready_at for car in on_site if car.ready_at > now)
    freed = dispatcher.next_change(now)
    if freed is not None:
        candidates.append(freed)
    candidates.extend(at for at in deliveries if at > now)
    return min(c for c in candidates if c > now) if any(c > now for c in candidates) else horizon


def _close_day(
    dispatcher: Dispatcher,
    finished: list[_Car],
    unfinished: list[_Car],
    never_arrived: list[Booking],
    urgency: Urgency,
    horizon: int,
) -> Schedule:
    """Take unfinished cars out whole, then try to fit each into a gap; else unscheduled."""
    for car in unfinished:
        for assignment in car.placed:
            dispatcher.release(assignment)
    leftovers = [car.booking for car in unfinished] + never_arrived
    leftovers.sort(key=lambda b: -urgency(b, 0, horizon))
    assignments = [a for car in finished for a in car.placed]
    unscheduled: list[Unscheduled] = []
    for booking in leftovers:
        try:
            assignments.extend(dispatcher.place(booking))
        except BookingNotPlaced as exc:
            unscheduled.append(Unscheduled(booking.id, str(exc)))
    return assignments, unscheduled
