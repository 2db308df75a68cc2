"""Key figures of a day as it really went, from the same pure functions that judge plans.

A simulated day is turned into two plan-shaped records (see :class:`simulation.model.
SimulatedDay`): the *actual plan*, with every finished car's operations and every car left over
at the end of the day as unscheduled, and the *worked plan*, with every operation carried out,
including work on cars that were not finished. Waits and promises are read from the first,
utilization from the second, both by :func:`scheduler.kpis.compute_kpis`, so a simulated
waiter's wait means exactly what a planned one does. Two figures plans do not need are added
here as pure functions of ``(day, plan)`` in the same style: overtime and jobs left over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scheduler.domain import Day
from scheduler.kpis import compute_kpis
from scheduler.plan import Plan

KPIS: tuple[str, ...] = (
    "waiter_mean_wait",
    "waiter_p90_wait",
    "dropoff_on_time_share",
    "weighted_wait",
    "technician_utilization",
    "bay_utilization",
    "overtime_minutes",
    "jobs_left_over",
)
"""The key figures a what-if compares, in the order they are shown."""

KPI_LABELS: Mapping[str, str] = {
    "waiter_mean_wait": "waiter mean wait (min)",
    "waiter_p90_wait": "waiter p90 wait (min)",
    "dropoff_on_time_share": "drop-offs on time (share)",
    "weighted_wait": "weighted wait (min)",
    "technician_utilization": "technician utilization",
    "bay_utilization": "bay utilization",
    "overtime_minutes": "overtime (min)",
    "jobs_left_over": "jobs left over",
}
"""How each key figure is labelled for people."""

LOWER_IS_BETTER: Mapping[str, bool] = {
    "waiter_mean_wait": True,
    "waiter_p90_wait": True,
    "dropoff_on_time_share": False,
    "weighted_wait": True,
    "technician_utilization": False,
    "bay_utilization": False,
    "overtime_minutes": True,
    "jobs_left_over": True,
}
"""Which direction of change is an improvement (utilization: higher is busier, not better
for every manager, but it is reported as the workshop's output per hour of capacity)."""


def overtime_minutes(day: Day, plan: Plan) -> int:
    """Minutes technicians work after the end of their shift, summed over all operations.

    A planner never schedules past a shift, so a plan's overtime is 0; on a real day a job
    started in good time can overrun and the technician stays to finish it.
    """
    shift_end = {t.id: t.shift[1] for t in day.workshop.technicians}
    total = 0
    for a in plan.assignments:
        end_of_shift = shift_end.get(a.technician)
        if end_of_shift is not None and a.end > end_of_shift:
            total += a.end - max(a.start, end_of_shift)
    return total


def jobs_left_over(day: Day, plan: Plan) -> int:
    """Bookings of the day that were not done: unscheduled in a plan, unfinished on a real day.

    Either way they roll over to another day.
    """
    known = {b.id for b in day.bookings}
    return len({u.booking for u in plan.unscheduled if u.booking in known})


def day_kpis(day: Day, actual: Plan, worked: Plan) -> dict[str, float]:
    """The what-if key figures of one day (:data:`KPIS`), as plain floats.

    Parameters
    ----------
    day
        The day as it happened: the cars that came, at the minutes they came.
    actual
        Finished cars' operations; cars left over are unscheduled.
    worked
        Every operation carried out, finished cars or not.

    Returns
    -------
    dict of str to float
        Waits and on-time share from ``compute_kpis(day, actual)``, utilization from
        ``compute_kpis(day, worked)``, overtime from ``worked`` and jobs left over from
        ``actual``.
    """
    served: Mapping[str, Any] = compute_kpis(day, actual)
    busy: Mapping[str, Any] = compute_kpis(day, worked)
    return {
        "waiter_mean_wait": float(served["waiter_mean_wait"]),
        "waiter_p90_wait": float(served["waiter_p90_wait"]),
        "dropoff_on_time_share": float(served["dropoff_on_time_share"]),
        "weighted_wait": float(served["weighted_wait"]),
        "technician_utilization": float(busy["technician_utilization"]),
        "bay_utilization": float(busy["bay_utilization"]),
        "overtime_minutes": float(overtime_minutes(day, worked)),
        "jobs_left_over": float(jobs_left_over(day, actual)),
    }


def plan_kpis(day: Day, plan: Plan) -> dict[str, float]:
    """The same key figures for a plan (its own record of what would happen)."""
    return day_kpis(day, plan, plan)
