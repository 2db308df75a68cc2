"""One entry point for every planner: ``solve(day, method=...) -> Plan``.

``fcfs`` is the whiteboard baseline; ``dispatch`` runs every dispatch rule and keeps the best
plan; ``cpsat`` starts from the best dispatch plan and improves it with CP-SAT within a time
limit. Every method returns a plan whose objective is recomputed from its own schedule.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from scheduler.bounds import critical_path_bound
from scheduler.dispatch import RULES as RULES
from scheduler.dispatch.dispatcher import Schedule
from scheduler.dispatch.improve import improve_schedule
from scheduler.domain import Day
from scheduler.plan import Plan, PlanStatus, objective_parts

if TYPE_CHECKING:
    from scheduler.cpsat.model import Objective

Method = Literal["fcfs", "dispatch", "cpsat"]
METHODS: tuple[Method, ...] = ("fcfs", "dispatch", "cpsat")


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot while solving: best objective so far and the proven bound."""

    seconds: float
    objective: float
    bound: float


ProgressCallback = Callable[[Progress], None]


def dispatch_plan(day: Day, rule: str, *, lower_bound: Fraction | None = None) -> Plan:
    """The plan the named dispatch rule makes (``lower_bound`` defaults to the critical path)."""
    assignments, unscheduled = RULES[rule].schedule(day)
    bound = critical_path_bound(day) if lower_bound is None else lower_bound
    return Plan.build(day, assignments, unscheduled, status=PlanStatus.HEURISTIC, lower_bound=bound)


def improvement_moves(day: Day) -> int:
    """Ruin-and-recreate moves for ``day``: a move costs time in proportion to the staff, so
    bigger workshops get fewer moves and the whole method stays well under a second."""
    return max(60, min(600, 4800 // max(1, len(day.workshop.technicians))))


def best_dispatch_plan(day: Day, *, seed: int = 0, moves: int | None = None) -> Plan:
    """The best plan over all dispatch rules (fewest left out, then lowest objective), then
    improved by ruin and recreate. Deterministic for a given day and seed."""

    def key(schedule: Schedule) -> tuple[int, Fraction]:
        assignments, unscheduled = schedule
        return len(unscheduled), objective_parts(day, assignments, unscheduled).total

    best = min((rule.schedule(day) for rule in RULES.values()), key=key)
    improved = improve_schedule(
        day, best, iterations=improvement_moves(day) if moves is None else moves, seed=seed
    )
    assignments, unscheduled = min(best, improved, key=key)
    return Plan.build(
        day,
        assignments,
        unscheduled,
        status=PlanStatus.HEURISTIC,
        lower_bound=critical_path_bound(day),
    )


def solve(
    day: Day,
    method: Method = "dispatch",
    *,
    time_limit: float = 10.0,
    workers: int = 2,
    seed: int = 0,
    on_progress: ProgressCallback | None = None,
    objective: Objective = "weighted-wait",
) -> Plan:
    """Plan ``day`` with ``method``.

    Parameters
    ----------
    day
        The workshop and its bookings.
    method
        ``fcfs``, ``dispatch`` (best dispatch rule) or ``cpsat``.
    time_limit
        Seconds for ``cpsat``, the dispatch plan it starts from included (ignored by the
        heuristics).
    workers
        CP-SAT search workers.
    seed
        CP-SAT random seed, for reproducible runs.
    on_progress
        Called with each improvement while CP-SAT runs.
    objective
        What CP-SAT minimises: ``weighted-wait`` (DESIGN.md's objective, the default) or
        ``makespan`` (the end of the last operation, for literature instances). The plan's
        ``objective`` is always DESIGN.md's, recomputed from the schedule.
    """
    if method == "fcfs":
        return dispatch_plan(day, "fcfs")
    if method == "dispatch":
        return best_dispatch_plan(day, seed=seed)
    if method == "cpsat":
        from scheduler.cpsat import improve  # CP-SAT is only loaded when asked for

        began = time.perf_counter()
        start = best_dispatch_plan(day, seed=seed)
        # The time limit covers the whole call, the dispatch plan included.
        left = max(0.1 * time_limit, time_limit - (time.perf_counter() - began))
        return improve(
            day,
            start,
            time_limit=left,
            workers=workers,
            seed=seed,
            on_progress=on_progress,
            objective=objective,
        )
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
