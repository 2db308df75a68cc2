"""Key figures of a day's plan, as pure functions of (day, plan).

The planner, the simulation and the service all call these same functions, so a figure means
the same thing wherever it is shown. Waits and lateness are in minutes; shares and utilization
are fractions between 0 and 1.
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from typing import Any

import numpy as np

from scheduler.domain import Day, Window, merge_windows
from scheduler.plan import Plan, objective_parts, ready_times


def _number(value: Any) -> float | int:
    """An exact value as a JSON number: an int when whole, else a float."""
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else as_float


def weighted_wait(day: Day, plan: Plan) -> float | int:
    """Sum over scheduled bookings of weight times wait (the objective without penalties)."""
    return _number(objective_parts(day, plan.assignments, plan.unscheduled).weighted_wait)


def weighted_wait_of(day: Day, plan: Plan, bookings: set[str]) -> Fraction:
    """Weight times wait summed over ``bookings``, each of which ``plan`` places: how two
    plans compare on the bookings both place (a booking left out has no wait to count)."""
    ready = ready_times(plan.assignments)
    total = Fraction(0)
    for booking_id in bookings:
        booking = day.booking(booking_id)
        total += day.weight(booking) * day.wait(booking, ready[booking_id])
    return total


def waiter_waits(day: Day, plan: Plan) -> dict[str, int]:
    """Minutes each scheduled waiter spends in the lounge: arrival until the car is ready."""
    ready = ready_times(plan.assignments)
    return {b.id: ready[b.id] - b.arrival for b in day.bookings if b.waiting and b.id in ready}


def dropoff_lateness(day: Day, plan: Plan) -> dict[str, int]:
    """Minutes each scheduled drop-off is ready after its promised time (0 when on time)."""
    ready = ready_times(plan.assignments)
    return {
        b.id: max(0, ready[b.id] - day.promised(b))
        for b in day.bookings
        if not b.waiting and b.id in ready
    }


def _mean(values: list[int]) -> float:
    return float(np.mean(values)) if values else 0.0


def _p90(values: list[int]) -> float:
    return float(np.percentile(values, 90)) if values else 0.0


def _busy(plan: Plan, key: str) -> dict[str, int]:
    busy: dict[str, int] = defaultdict(int)
    for a in plan.assignments:
        busy[getattr(a, key)] += a.end - a.start
    return busy


def technician_available_minutes(day: Day) -> dict[str, int]:
    """Minutes each technician can work: shift minus breaks and absences."""
    return {
        t.id: sum(end - start for start, end in t.working_windows())
        for t in day.workshop.technicians
    }


def workday(day: Day) -> Window:
    """From the first shift start to the last shift end: when bays can be in use."""
    techs = day.workshop.technicians
    return (min(t.shift[0] for t in techs), max(t.shift[1] for t in techs))


def bay_available_minutes(day: Day) -> dict[str, int]:
    """Minutes each bay can be used in the workday, outside its unavailable windows."""
    start, end = workday(day)
    out = {}
    for bay in day.workshop.bays:
        blocked = sum(
            max(0, min(e, end) - max(s, start)) for s, e in merge_windows(bay.unavailable)
        )
        out[bay.id] = end - start - blocked
    return out


def technician_utilization(day: Day, plan: Plan) -> dict[str, float]:
    """Share of each technician's working minutes spent on operations."""
    busy = _busy(plan, "technician")
    return {
        tid: (busy.get(tid, 0) / avail if avail else 0.0)
        for tid, avail in technician_available_minutes(day).items()
    }


def bay_utilization(day: Day, plan: Plan) -> dict[str, float]:
    """Share of each bay's usable minutes in the workday spent on operations."""
    busy = _busy(plan, "bay")
    return {
        bid: (busy.get(bid, 0) / avail if avail else 0.0)
        for bid, avail in bay_available_minutes(day).items()
    }


def technician_idle_minutes(day: Day, plan: Plan) -> int:
    """Working minutes of all technicians not spent on operations."""
    busy = _busy(plan, "technician")
    return sum(avail - busy.get(tid, 0) for tid, avail in technician_available_minutes(day).items())


def compute_kpis(day: Day, plan: Plan) -> dict[str, Any]:
    """Every key figure of the plan, JSON-ready, in the plan file's ``kpis`` object."""
    waits = list(waiter_waits(day, plan).values())
    late = list(dropoff_lateness(day, plan).values())
    tech_util = technician_utilization(day, plan)
    bay_util = bay_utilization(day, plan)
    tech_avail = technician_available_minutes(day)
    bay_avail = bay_available_minutes(day)
    tech_busy, bay_busy = _busy(plan, "technician"), _busy(plan, "bay")
    return {
        "bookings": len(day.bookings),
        "scheduled": len(plan.scheduled_bookings()),
        "unscheduled": len(plan.unscheduled),
        "weighted_wait": weighted_wait(day, plan),
        "waiters": len(waits),
        "waiter_mean_wait": round(_mean(waits), 2),
        "waiter_p90_wait": round(_p90(waits), 2),
        "waiter_max_wait": max(waits, default=0),
        "dropoffs": len(late),
        "dropoff_on_time_share": round(sum(1 for x in late if x == 0) / len(late), 4)
        if late
        else 1.0,
        "dropoff_mean_lateness": round(_mean(late), 2),
        "technician_utilization": round(
            sum(tech_busy.values()) / max(1, sum(tech_avail.values())), 4
        ),
        "bay_utilization": round(sum(bay_busy.values()) / max(1, sum(bay_avail.values())), 4),
        "technician_idle_minutes": technician_idle_minutes(day, plan),
        "technician_utilization_by_id": {k: round(v, 4) for k, v in tech_util.items()},
        "bay_utilization_by_id": {k: round(v, 4) for k, v in bay_util.items()},
    }
