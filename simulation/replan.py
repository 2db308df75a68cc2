"""Re-planning in the middle of a simulated day, with the project's own planner.

When the day has drifted from the plan (a job overran, a car is late, a walk-in came), the
service manager re-plans the rest of the day. The planner (:mod:`scheduler`) knows nothing of
"now", so the rest of the day is written as a *residual day* it can plan like any other:

- each technician is absent from midnight until now, or until the job in hand is expected to
  end; each bay likewise unavailable until it is expected to be empty;
- each unfinished car becomes a booking of its remaining operations (a half-done service
  becomes the catalogue entry ``CODE#k``: its operations from index ``k`` on), arriving now,
  when its current operation is expected to end, or at its booked time if it is not here yet;
  a car overdue by more than ``no_show_after`` minutes is given up;
- the parts shelf holds what is on it now, and deliveries not yet come are expected at their
  booked time (an overdue one a quarter of an hour from now).

Moving a booking's arrival later only adds the same constant to every one of its possible waits,
so the residual day ranks the remaining choices exactly as the full day would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from scheduler.dispatch.dispatcher import Schedule
from scheduler.domain import MINUTES_PER_DAY, Booking, Day, Part, Service
from scheduler.plan import Assignment, objective_parts

if TYPE_CHECKING:
    from simulation.model import WorkshopSim

ReplanMethod = Literal["rules", "dispatch", "cpsat"]
REPLAN_METHODS: tuple[ReplanMethod, ...] = ("rules", "dispatch", "cpsat")

OVERDUE_DELIVERY_GUESS = 15
"""Minutes from now at which an overdue parts delivery is expected."""

OVERRUN_GUESS = 5
"""Minutes from now at which a job already past its planned end is expected to end."""


@dataclass(frozen=True, slots=True)
class Replanner:
    """How the rest of the day is re-planned.

    Parameters
    ----------
    method
        ``rules`` (default): the planner's dispatch ``rules``, the best plan kept, in a few
        milliseconds; ``dispatch``: the planner's ``dispatch`` method (every rule, then ruin and
        recreate), about a tenth of a second; ``cpsat``: the CP-SAT planner within
        ``time_limit`` seconds.
    time_limit
        Seconds for ``cpsat``. Default 1.
    moves
        Ruin-and-recreate moves for ``dispatch``. Default 30.
    rules
        The dispatch rules ``rules`` tries (names in ``scheduler.dispatch.RULES``). Default
        the two floor rules by apparent tardiness cost: on the city dealer's day they gave
        waiters 15-20% less waiting than trying every rule, at two thirds of the
        cost, because the booking-order rules win a re-plan whenever they leave one booking
        fewer out (the planner's penalty for it is 10,000 weighted minutes), and later
        re-plans usually fit that booking anyway.
    """

    method: ReplanMethod = "rules"
    time_limit: float = 1.0
    moves: int = 30
    rules: tuple[str, ...] = ("atc-0.5", "atc-2")

    def __post_init__(self) -> None:
        if self.method not in REPLAN_METHODS:
            raise ValueError(
                f"re-plan method must be one of {', '.join(REPLAN_METHODS)}, got {self.method!r}"
            )
        if not self.time_limit > 0:
            raise ValueError(f"re-plan time_limit must be positive, got {self.time_limit!r}")
        from scheduler.dispatch import RULES

        unknown = [name for name in self.rules if name not in RULES]
        if unknown or not self.rules:
            got = ", ".join(unknown) or "none"
            raise ValueError(f"re-plan rules must be among {', '.join(RULES)}, got {got}")

    def plan(self, day: Day) -> tuple[list[Assignment], set[str]]:
        """Plan ``day``; return the assignments and the ids of the bookings left out."""
        if self.method == "rules":
            from scheduler.solve import RULES

            def key(schedule: Schedule) -> tuple[int, Fraction]:
                assignments, unscheduled = schedule
                return len(unscheduled), objective_parts(day, assignments, ()).total

            best = min((RULES[name].schedule(day) for name in self.rules), key=key)
            return list(best[0]), {u.booking for u in best[1]}
        if self.method == "dispatch":
            from scheduler.solve import best_dispatch_plan

            plan = best_dispatch_plan(day, moves=self.moves)
        else:
            from scheduler.solve import solve

            plan = solve(day, "cpsat", time_limit=self.time_limit, workers=1)
        return list(plan.assignments), {u.booking for u in plan.unscheduled}


def _partial_code(code: str, start: int) -> str:
    return code if start == 0 else f"{code}#{start}"


def _original(code: str, index: int) -> tuple[str, int]:
    """``("MAJOR#1", 0)`` back to ``("MAJOR", 1)``."""
    base, sep, offset = code.rpartition("#")
    if sep and offset.isdigit():
        return base, int(offset) + index
    return code, index


def _blocked_until(windows: Sequence[tuple[int, int]], until: int) -> tuple[tuple[int, int], ...]:
    end = min(MINUTES_PER_DAY, until)
    return (*windows, (0, end)) if end > 0 else tuple(windows)


def residual_day(floor: WorkshopSim, *, late_guess: int = 15) -> Day:
    """The rest of the day as a day the planner can plan (see the module docstring).

    Parameters
    ----------
    floor
        The simulated floor now.
    late_guess
        Minutes from now at which a car that is late (but not yet given up) is expected.

    Returns
    -------
    Day
        The residual day; its bookings have the ids of the cars.
    """
    now = floor.now
    ws = floor.day.workshop
    tech_until = dict.fromkeys((t.id for t in ws.technicians), now)
    bay_until = dict.fromkeys((b.id for b in ws.bays), now)
    expected_end: dict[str, int] = {}
    for booking_id, work in floor.underway.items():
        end = max(work.start + work.planned, now + OVERRUN_GUESS)
        expected_end[booking_id] = end
        tech_until[work.technician] = max(tech_until[work.technician], end)
        bay_until[work.bay] = max(bay_until[work.bay], end)
    technicians = tuple(
        replace(t, absent=_blocked_until(t.absent, tech_until[t.id])) for t in ws.technicians
    )
    bays = tuple(
        replace(b, unavailable=_blocked_until(b.unavailable, bay_until[b.id])) for b in ws.bays
    )
    pending: dict[str, list[tuple[int, int]]] = {}
    for sku, booked_at, qty in floor.pending_deliveries:
        at = booked_at if booked_at > now else now + OVERDUE_DELIVERY_GUESS
        pending.setdefault(sku, []).append((min(MINUTES_PER_DAY, at), qty))
    parts = {
        sku: Part(sku, int(floor.shelf[sku].level), tuple(pending.get(sku, ()))) for sku in ws.parts
    }
    services: dict[str, Service] = dict(ws.services)
    bookings: list[Booking] = []
    for car in floor.cars:
        if car.finished is not None:
            continue
        b = car.booking
        first = car.next
        if car.in_work:
            first += 1
            arrival = expected_end[b.id]
        elif car.here:
            arrival = now
        elif now > b.arrival + floor.uncertainty.no_show_after:
            continue  # given up: not coming today
        else:
            arrival = b.arrival if b.arrival > now else now + late_guess
        remaining = car.operations[first:]
        if not remaining:
            continue
        codes: list[str] = []
        for code, index, _op in remaining:
            if codes and _original(codes[-1], 0)[0] == code:
                continue
            partial = _partial_code(code, index)
            if partial not in services:
                original = ws.services[code]
                services[partial] = Service(partial, original.name, original.operations[index:])
            codes.append(partial)
        arrival = min(MINUTES_PER_DAY - 1, arrival)
        promised = b.promised if b.promised is None else max(b.promised, arrival)
        bookings.append(replace(b, services=tuple(codes), arrival=arrival, promised=promised))
    workshop = replace(ws, bays=bays, technicians=technicians, services=services, parts=parts)
    return Day(workshop, floor.day.date, tuple(bookings))


def replan(floor: WorkshopSim, replanner: Replanner, *, late_guess: int = 15) -> RePlan:
    """Re-plan the rest of the day from ``floor`` with ``replanner``.

    Returns
    -------
    RePlan
        The new assignments in the terms of the original day (service codes and operation
        indices as booked), the bookings the re-plan covers and those it left out.
    """
    day = residual_day(floor, late_guess=late_guess)
    assignments, left_out = replanner.plan(day)
    mapped = []
    for a in assignments:
        code, index = _original(a.service, a.operation)
        mapped.append(Assignment(a.start, a.end, a.booking, code, index, a.bay, a.technician))
    return RePlan(tuple(sorted(mapped)), frozenset(b.id for b in day.bookings), frozenset(left_out))


@dataclass(frozen=True, slots=True)
class RePlan:
    """A re-plan of the rest of the day.

    Parameters
    ----------
    assignments
        The operations still to do, in the original day's terms, sorted by start.
    covered
        Ids of every booking the re-plan considered.
    left_out
        Ids of those it could not fit.
    """

    assignments: tuple[Assignment, ...]
    covered: frozenset[str]
    left_out: frozenset[str]
