"""Re-planning a day that has begun: keep what started, keep every promise that still fits.

A service manager re-plans when a job overruns, a technician goes home, a part is late or a
walk-in arrives. Cars already on a lift stay where they are (operations started before ``now``
are frozen), and each booking that has not started keeps its technician, bay and times if they
still fit; only the bookings that no longer fit are placed again, at the earliest time the
dispatcher finds, so as few customers as possible have to be told a new time. With
``method="cpsat"`` and the CP-SAT planner installed, that repair plan is the warm start of an
improvement that is kept only if it is valid and better once each moved promise is charged.

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
    time_limit: float = 5.0
    full: bool = False  # also try planning from scratch (nothing started, no holds)


@dataclass(frozen=True, slots=True)
class ReplanResult:
    """The re-plan as plain data."""

    assignments: list[Row]
    unscheduled: list[tuple[str, str]]
    status: str
    lower_bound: str  # exact fraction as text
    frozen: int


def _frozen(day: Day, previous: list[Assignment], now: int) -> list[Assignment]:
    ids = {b.id for b in day.bookings}
    return [a for a in previous if a.start < now and a.booking in ids]


def _fits(d: Dispatcher, day: Day, a: Assignment, ready: int) -> bool:
    """Whether ``a`` can stay exactly as it is in the schedule loaded in ``d``."""
    if a.start < ready:
        return False
    ws = day.workshop
    try:
        op = ws.services[a.service].operations[a.operation]
        tech = ws.technician(a.technician)
    except (KeyError, IndexError):
        return False
    if a.end - a.start != tech.duration(op):
        return False
    if not d.techs[a.technician].free(a.start, a.end) or not d.bays[a.bay].free(a.start, a.end):
        return False
    return all(d.stock[sku].earliest(a.start, qty) == a.start for sku, qty in op.parts.items())


def _place_rest(
    d: Dispatcher, day: Day, booking: Booking, done: int, ready: int
) -> list[Assignment]:
    """Place the booking's operations from index ``done`` on, starting no earlier than ``ready``.

    Uses the dispatcher's own operation placement, so a partly done booking is placed by the
    same rules as a whole one; everything is undone if one operation does not fit.
    """
    placed = []
    at = ready
    try:
        for code, index, op in day.operations(booking)[done:]:
            placement = d._place_operation(booking, code, index, op, at)
            d._commit(placement)
            placed.append(placement)
            at = placement.assignment.end
    except BookingNotPlaced:
        for p in reversed(placed):
            d._undo(p)
        raise
    return [p.assignment for p in placed]


def repair(
    day: Day,
    previous: list[Assignment],
    holds: list[Assignment],
    now: int,
    ready_after: dict[str, int],
) -> tuple[list[Assignment], list[Unscheduled], int]:
    """Keep what started and what still fits; place the rest again. Returns the schedule,
    the bookings left out and the number of frozen operations."""
    d = Dispatcher(day)
    for a in holds:
        d.reserve(a)
    frozen = _frozen(day, previous, now)
    for a in frozen:
        d.reserve(a)
    by_booking: dict[str, list[Assignment]] = defaultdict(list)
    for a in previous:
        by_booking[a.booking].append(a)
    frozen_by: dict[str, list[Assignment]] = defaultdict(list)
    for a in frozen:
        frozen_by[a.booking].append(a)
    kept: list[Assignment] = []
    again: list[Booking] = []
    # Earliest first, so the bookings due soonest keep their times first.
    order = sorted(
        day.bookings,
        key=lambda b: (min((a.start for a in by_booking.get(b.id, [])), default=10**6), b.id),
    )
    for booking in order:
        ops = day.operations(booking)
        done = len(frozen_by.get(booking.id, []))
        rest = sorted(a for a in by_booking.get(booking.id, []) if a.start >= now)
        if done + len(rest) != len(ops) or not by_booking.get(booking.id):
            again.append(booking)
            continue
        prev_end = max((a.end for a in frozen_by.get(booking.id, [])), default=booking.arrival)
        ready = max(prev_end, ready_after.get(booking.id, 0), now, booking.arrival)
        taken: list[Assignment] = []
        for a in rest:
            if not _fits(d, day, a, ready):
                break
            d.reserve(a)
            taken.append(a)
            ready = a.end
        if len(taken) == len(rest):
            kept.extend(taken)
            continue
        for a in taken:  # undo this booking's partial keep, then place it again later
            d.techs[a.technician].release(a.start, a.end)
            d.bays[a.bay].release(a.start, a.end)
            op = day.workshop.services[a.service].operations[a.operation]
            for sku, qty in op.parts.items():
                d.stock[sku].untake(a.start, qty)
        again.append(booking)
    placed: list[Assignment] = []
    unscheduled: list[Unscheduled] = []
    previous_ready = ready_times(previous)
    again.sort(key=lambda b: (previous_ready.get(b.id, 10**6), b.arrival, b.id))
    for booking in again:
        done = len(frozen_by.get(booking.id, []))
        prev_end = max((a.end for a in frozen_by.get(booking.id, [])), default=booking.arrival)
        ready = max(prev_end, ready_after.get(booking.id, 0), now, booking.arrival)
        try:
            placed.extend(_place_rest(d, day, booking, done, ready))
        except BookingNotPlaced as exc:
            if done:
                raise RuntimeError(
                    f"booking {booking.id} has started but the rest of its work no longer "
                    f"fits today: {exc}"
                ) from exc
            unscheduled.append(Unscheduled(booking.id, str(exc)))
    return [*frozen, *kept, *placed], unscheduled, len(frozen)


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
    previous, holds = from_rows(job.previous), from_rows(job.holds)
    assignments, unscheduled, frozen_count = repair(day, previous, holds, job.now, job.ready_after)
    best = Plan.build(day, assignments, unscheduled, status=PlanStatus.HEURISTIC)
    frozen = _frozen(day, previous, job.now)

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
        frozen=frozen_count,
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
    for hold_id, items in sorted(_by_booking(holds).items()):
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


def _by_booking(assignments: list[Assignment]) -> dict[str, list[Assignment]]:
    out: dict[str, list[Assignment]] = defaultdict(list)
    for a in assignments:
        out[a.booking].append(a)
    return out
