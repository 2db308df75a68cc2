"""Re-planning a day that has begun: keep what started, keep every promise that still fits.

A service manager re-plans when a job overruns, a technician goes home, a part is late or a
walk-in arrives. Cars already on a lift stay where they are (operations started before ``now``
are frozen), and each booking that has not started keeps its technician, bay and times if they
still fit; only the bookings that no longer fit are placed again, at the earliest time the
dispatcher finds, so as few customers as possible have to be told a new time. With
``method="cpsat"`` and the CP-SAT planner installed, that repair plan is the warm start of an
improvement that is kept only if it is valid and better once each moved promise is charged.

Holds stay exactly where they are while they still fit the day; a hold the day no longer has
room for (its technician went home, its bay closed) is released rather than booked later. Work
that has started and can no longer be finished today is not something a plan can fix: the
re-plan is refused with ``StartedWorkDoesNotFit``, naming the booking, operation and reason.

This module runs in the solver's worker processes: its inputs and outputs are plain data.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from scheduler.checker import check_plan
from scheduler.dispatch import BookingNotPlaced, Dispatcher
from scheduler.domain import Booking, Day
from scheduler.io import parse_day
from scheduler.plan import Assignment, Plan, PlanStatus, Unscheduled, objective_parts, ready_times
from scheduler.solve import solve

log = logging.getLogger("workshop.replan")
STABILITY_MINUTES = 30  # weighted minutes a moved promise costs when choosing between plans
Row = tuple[int, int, str, str, int, str, str]  # an Assignment as plain data


def to_rows(assignments: list[Assignment] | tuple[Assignment, ...]) -> list[Row]:
    """Assignments as plain tuples (picklable, JSON-able)."""
    return [
        (a.start, a.end, a.booking, a.service, a.operation, a.bay, a.technician)
        for a in assignments
    ]


def from_rows(rows: list[Row] | list[list[Any]]) -> list[Assignment]:
    """Plain tuples back into assignments."""
    return [
        Assignment(int(r[0]), int(r[1]), str(r[2]), str(r[3]), int(r[4]), str(r[5]), str(r[6]))
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class ReplanJob:
    """Everything a worker needs to re-plan a day (plain data only)."""

    day: dict[str, Any]  # the day file (workshop sections and bookings), as day_to_dict makes
    previous: list[Row]  # the committed assignments of the bookings
    holds: list[Row]  # assignments of unexpired holds: fixed, never moved
    now: int  # operations starting before this minute are frozen; nothing new starts before
    ready_after: dict[str, int] = field(default_factory=dict)  # overruns: earliest next start
    method: str = "dispatch"
    time_limit: float = 5.0  # seconds; the service passes its solve_time_limit setting
    full: bool = False  # also try planning from scratch (nothing started, no holds)


@dataclass(frozen=True, slots=True)
class ReplanResult:
    """The re-plan as plain data."""

    assignments: list[Row]
    unscheduled: list[tuple[str, str]]
    status: str
    lower_bound: str  # exact fraction as text
    frozen: int


class StartedWorkDoesNotFit(Exception):
    """A booking already begun can no longer be finished today, so the re-plan is refused.

    Raised in a solver worker process and re-raised in the request, so it holds plain strings
    only and pickles (``args`` are the constructor's arguments).
    """

    def __init__(self, booking: str, operation: str, reason: str) -> None:
        super().__init__(booking, operation, reason)
        self.booking = booking
        self.operation = operation
        self.reason = reason

    def __str__(self) -> str:
        return (
            f"booking {self.booking} has started but {self.operation} no longer fits today: "
            f"{self.reason}"
        )


@dataclass(frozen=True, slots=True)
class Repair:
    """The repair plan's schedule and what it had to leave out."""

    assignments: list[Assignment]
    unscheduled: list[Unscheduled]
    frozen: list[Assignment]  # operations started before ``now``, kept as they were
    holds: list[Assignment]  # assignments of the holds that still fit, kept as they were
    released: dict[str, str]  # hold (its "booking" field) -> why it no longer fits


def _frozen(day: Day, previous: list[Assignment], now: int) -> list[Assignment]:
    ids = {b.id for b in day.bookings}
    return [a for a in previous if a.start < now and a.booking in ids]


def _operation(day: Day, booking: Booking, index: int) -> str:
    """How a service manager names the ``index``-th operation of a booking."""
    code, position, op = day.operations(booking)[index]
    return f"{code} operation {position + 1} ({op.skill} in a {op.bay} bay)"


def operation_name(day: Day, assignment: Assignment) -> str:
    """How a service manager names the operation ``assignment`` does, e.g.
    ``MINOR operation 2 (valet in a wash bay)``."""
    op = day.workshop.services[assignment.service].operations[assignment.operation]
    return (
        f"{assignment.service} operation {assignment.operation + 1} ({op.skill} in a {op.bay} bay)"
    )


def ready_with_overruns(
    assignments: list[Assignment] | tuple[Assignment, ...], overruns: dict[str, int]
) -> dict[str, int]:
    """When each placed booking's car is ready, counting overruns.

    An overrun keeps its operation's technician and bay busy past the planned end (and the
    booking's next operation waits for it), but the operation keeps its planned times in the
    plan, whose durations are the catalogue's. When the overrun operation is the booking's
    last, the car is ready when the overrun ends (``overruns``: booking -> that minute), not at
    the end of its last planned operation.
    """
    ready = ready_times(assignments)
    return {b: max(at, overruns.get(b, at)) for b, at in ready.items()}


def fit_holds(d: Dispatcher, holds: list[Assignment]) -> tuple[list[Assignment], dict[str, str]]:
    """Reserve in ``d`` every hold whose whole witness still fits; say why the others do not.

    A hold is all or nothing: if one of its operations no longer fits (its technician went
    home, its bay closed), none of its reservations is kept.
    """
    kept: list[Assignment] = []
    released: dict[str, str] = {}
    for owner, items in sorted(by_booking(holds).items()):
        taken: list[Assignment] = []
        for a in sorted(items):
            problem = d.conflict(a)
            if problem is not None:
                for t in taken:
                    d.release(t)
                released[owner] = problem
                break
            d.reserve(a)
            taken.append(a)
        else:
            kept.extend(taken)
    return kept, released


def repair(
    day: Day,
    previous: list[Assignment],
    holds: list[Assignment],
    now: int,
    ready_after: dict[str, int],
) -> Repair:
    """Keep what started, the holds and the bookings that still fit; place the rest again.

    Raises StartedWorkDoesNotFit when an operation that started, or the rest of a booking
    that started, no longer fits the day.
    """
    d = Dispatcher(day)
    frozen = _frozen(day, previous, now)
    for a in frozen:
        problem = d.conflict(a)
        if problem is not None:
            index = sum(1 for f in frozen if f.booking == a.booking and f < a)
            raise StartedWorkDoesNotFit(
                a.booking, _operation(day, day.booking(a.booking), index), problem
            )
        d.reserve(a)
    kept_holds, released = fit_holds(d, holds)
    previous_by = by_booking(previous)
    frozen_by = by_booking(frozen)
    kept: list[Assignment] = []
    again: list[Booking] = []
    # Earliest first, so the bookings due soonest keep their times first.
    order = sorted(
        day.bookings,
        key=lambda b: (min((a.start for a in previous_by.get(b.id, [])), default=10**6), b.id),
    )
    for booking in order:
        ops = day.operations(booking)
        done = len(frozen_by.get(booking.id, []))
        rest = sorted(a for a in previous_by.get(booking.id, []) if a.start >= now)
        if done + len(rest) != len(ops) or not previous_by.get(booking.id):
            again.append(booking)
            continue
        prev_end = max((a.end for a in frozen_by.get(booking.id, [])), default=booking.arrival)
        ready = max(prev_end, ready_after.get(booking.id, 0), now, booking.arrival)
        taken: list[Assignment] = []
        for a in rest:
            if a.start < ready or d.conflict(a) is not None:
                break
            d.reserve(a)
            taken.append(a)
            ready = a.end
        if len(taken) == len(rest):
            kept.extend(taken)
            continue
        for a in taken:  # undo this booking's partial keep, then place it again later
            d.release(a)
        again.append(booking)
    placed: list[Assignment] = []
    unscheduled: list[Unscheduled] = []
    previous_ready = ready_times(previous)
    again.sort(key=lambda b: (previous_ready.get(b.id, 10**6), b.arrival, b.id))
    for booking in again:
        done = len(frozen_by.get(booking.id, []))
        prev_end = max((a.end for a in frozen_by.get(booking.id, [])), default=booking.arrival)
        ready = max(prev_end, ready_after.get(booking.id, 0), now)
        try:
            placed.extend(d.place(booking, ready=ready, first=done))
        except BookingNotPlaced as exc:
            if done:
                raise StartedWorkDoesNotFit(
                    booking.id, _operation(day, booking, done), str(exc)
                ) from exc
            unscheduled.append(Unscheduled(booking.id, str(exc)))
    return Repair([*frozen, *kept, *placed], unscheduled, frozen, kept_holds, released)


def moved_promises(previous: list[Assignment], plan: Plan) -> int:
    """How many bookings are ready at another time than in the previous plan."""
    before, after = ready_times(previous), ready_times(plan.assignments)
    return sum(1 for b, at in before.items() if after.get(b) != at)


def _respects(
    plan: Plan, frozen: list[Assignment], holds: list[Assignment], job: ReplanJob
) -> bool:
    """Guards on a plan from another planner: frozen kept, holds untouched, overruns waited
    for, nothing new started in the past."""
    got = set(plan.assignments)
    if not all(a in got for a in frozen):
        return False
    frozen_set = set(frozen)
    for a in plan.assignments:
        if a in frozen_set:
            continue
        if a.start < job.now or a.start < job.ready_after.get(a.booking, 0):
            return False
        for h in holds:
            if (
                (h.technician == a.technician or h.bay == a.bay)
                and h.start < a.end
                and a.start < h.end
            ):
                return False
    return True


def run_replan(job: ReplanJob) -> ReplanResult:
    """Re-plan the day in ``job``: the repair plan, or a better valid one from the solvers."""
    day = parse_day(job.day, source="<re-plan>")
    previous = from_rows(job.previous)
    fixed = repair(day, previous, from_rows(job.holds), job.now, job.ready_after)
    best = Plan.build(day, fixed.assignments, fixed.unscheduled, status=PlanStatus.HEURISTIC)
    frozen, holds = fixed.frozen, fixed.holds

    def cost(plan: Plan) -> Fraction:
        return plan.objective + STABILITY_MINUTES * moved_promises(previous, plan)

    candidates: list[Plan] = []
    if job.full and not frozen and not holds and job.now <= 0:
        candidates.append(solve(day, "fcfs" if job.method == "fcfs" else "dispatch"))
    if job.method == "cpsat":
        candidates.extend(_cpsat(day, best, frozen, previous, holds, job))
    for plan in candidates:
        if check_plan(day, plan) or not _respects(plan, frozen, holds, job):
            continue
        if cost(plan) < cost(best) or (
            cost(plan) == cost(best) and plan.lower_bound > best.lower_bound
        ):
            best = plan
    return ReplanResult(
        assignments=to_rows(best.assignments),
        unscheduled=[(u.booking, u.reason) for u in best.unscheduled],
        status=best.status.value,
        lower_bound=str(best.lower_bound),
        frozen=len(frozen),
    )


def _cpsat(
    day: Day,
    start: Plan,
    frozen: list[Assignment],
    previous: list[Assignment],
    holds: list[Assignment],
    job: ReplanJob,
) -> list[Plan]:
    """CP-SAT improvement of ``start``, with started operations and holds frozen.

    Holds are not bookings, so for the solver each becomes a stand-in booking whose
    assignments are frozen; they are taken out of the result again (with their constant share
    of the objective and of the bound).
    """
    from scheduler.cpsat import improve

    stand_ins = []
    for hold_id, items in sorted(by_booking(holds).items()):
        items.sort()
        codes = tuple(dict.fromkeys(a.service for a in items))
        stand_ins.append(Booking(id=hold_id, services=codes, arrival=items[0].start))
    if job.now >= 24 * 60:
        return []
    extended = Day(day.workshop, day.date, (*_not_before(day, frozen, job), *stand_ins))
    ids = {b.id for b in day.bookings}
    begin = Plan.build(
        extended, [*start.assignments, *holds], start.unscheduled, status=start.status
    )
    before = Plan.build(
        extended, [a for a in previous if a.booking in ids] + holds, [], status=start.status
    )
    try:
        found = improve(
            extended,
            begin,
            time_limit=job.time_limit,
            workers=1,
            seed=0,
            frozen=[*frozen, *holds],
            previous=before,
        )
    except Exception:  # a planner failure must not lose the repair plan
        log.exception("CP-SAT improvement failed; keeping the repair plan")
        return []
    held = objective_parts(extended, holds, []).total
    plan = Plan.build(
        day,
        [a for a in found.assignments if a.booking in ids],
        [u for u in found.unscheduled if u.booking in ids],
        status=found.status,
        lower_bound=max(Fraction(0), found.lower_bound - held),
    )
    return [plan]


def _not_before(day: Day, frozen: list[Assignment], job: ReplanJob) -> list[Booking]:
    """The bookings as the solver must see them: what has not started cannot start before
    ``now`` (nor before an overrun it waits for), so its arrival is moved up to then.

    For a waiter this shifts the objective by a constant and for a drop-off, whose promise is
    moved up with it when already past, by another constant, so the best plan is unchanged.
    """
    started = {a.booking for a in frozen}
    out = []
    for b in day.bookings:
        earliest = max(b.arrival, job.now, job.ready_after.get(b.id, 0))
        if b.id in started or earliest == b.arrival or earliest >= 24 * 60:
            out.append(b)
            continue
        promised = None if b.promised is None else max(b.promised, earliest)
        out.append(replace(b, arrival=earliest, promised=promised))
    return out


def by_booking(assignments: list[Assignment]) -> dict[str, list[Assignment]]:
    """Assignments per booking id (or per hold, for hold assignments)."""
    out: dict[str, list[Assignment]] = defaultdict(list)
    for a in assignments:
        out[a.booking].append(a)
    return out
