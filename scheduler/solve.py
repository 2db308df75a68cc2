"""One entry point for every planner: ``solve(day, method=...) -> Plan``.

``fcfs`` is the whiteboard baseline; ``dispatch`` runs every dispatch rule and keeps the best
plan; ``cpsat`` starts from the best dispatch plan and improves it with CP-SAT within a time
limit. Every method returns a plan whose objective is recomputed from its own schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from scheduler.bounds import critical_path_bound
from scheduler.dispatch import RULES, dispatch
from scheduler.domain import Day
from scheduler.plan import Plan, PlanStatus

Method = Literal["fcfs", "dispatch", "cpsat"]
METHODS: tuple[Method, ...] = ("fcfs", "dispatch", "cpsat")


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot while solving: best objective so far and the proven bound."""

    seconds: float
    objective: float
    bound: float


ProgressCallback = Callable[[Progress], None]


def dispatch_plan(day: Day, rule: str) -> Plan:
    """The plan the named dispatch rule makes."""
    assignments, unscheduled = dispatch(day, RULES[rule].order(day))
    return Plan.build(
        day,
        assignments,
        unscheduled,
        status=PlanStatus.HEURISTIC,
        lower_bound=critical_path_bound(day),
    )


def best_dispatch_plan(day: Day) -> Plan:
    """The best plan over all dispatch rules: fewest left out, then lowest objective."""
    plans = [dispatch_plan(day, name) for name in RULES]
    return min(plans, key=lambda p: (len(p.unscheduled), p.objective))


def solve(
    day: Day,
    method: Method = "dispatch",
    *,
    time_limit: float = 10.0,
    workers: int = 2,
    seed: int = 0,
    on_progress: ProgressCallback | None = None,
) -> Plan:
    """Plan ``day`` with ``method``.

    Parameters
    ----------
    day
        The workshop and its bookings.
    method
        ``fcfs``, ``dispatch`` (best dispatch rule) or ``cpsat``.
    time_limit
        Seconds CP-SAT may spend improving the dispatch plan (ignored by the heuristics).
    workers
        CP-SAT search workers.
    seed
        CP-SAT random seed, for reproducible runs.
    on_progress
        Called with each improvement while CP-SAT runs.
    """
    if method == "fcfs":
        return dispatch_plan(day, "fcfs")
    if method == "dispatch":
        return best_dispatch_plan(day)
    if method == "cpsat":
        from scheduler.cpsat import improve  # CP-SAT is only loaded when asked for

        return improve(
            day,
            best_dispatch_plan(day),
            time_limit=time_limit,
            workers=workers,
            seed=seed,
            on_progress=on_progress,
        )
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
