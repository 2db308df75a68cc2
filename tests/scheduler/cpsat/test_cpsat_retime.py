"""Re-timing a plan with every booking kept on its resources and in its order (``lns.retime``).

The days are worked out by hand: one technician, one lift, so the order of the cars on the lift
is the whole plan, and re-timing may only close the holes in it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import pytest

import scheduler.cpsat.lns  # noqa: F401  (the module, not the function the package exports)
from scheduler.checker import check_plan
from scheduler.cpsat.constraints import DEFAULT_STRENGTHENING
from scheduler.cpsat.problem import compile_day
from scheduler.cpsat.search import assignments, evaluate, solution_from_assignments
from scheduler.domain import Day
from scheduler.plan import Assignment, Plan, PlanStatus, Unscheduled
from tests.scheduler.cpsat.days import bay, booking, day, tech
from tests.utils import hm

lns = sys.modules["scheduler.cpsat.lns"]


def retimed(
    plan_day: Day, given: list[Assignment], unscheduled: Sequence[Unscheduled] = ()
) -> list[Assignment]:
    """``given`` re-timed; the result is checked and no worse."""
    problem = compile_day(plan_day)
    solution, exact = solution_from_assignments(problem, given)
    assert exact
    evaluation = evaluate(problem, solution)
    found, found_eval = lns.retime(
        problem,
        solution,
        evaluation,
        time_limit=5,
        deterministic_time=None,
        workers=1,
        seed=0,
        objective="weighted-wait",
        strengthening=DEFAULT_STRENGTHENING,
        stop=None,
    )
    assert found_eval <= evaluation
    out = assignments(problem, found)
    plan = Plan.build(plan_day, out, unscheduled, status=PlanStatus.FEASIBLE)
    assert check_plan(plan_day, plan) == []
    return sorted(out, key=lambda a: a.start)


def test_retiming_closes_holes_but_keeps_the_order() -> None:
    # A drop-off (promised 17:00) on the lift 09:00-10:00, then a waiter 11:00-12:00, both
    # arrived at 08:00. The waiter first would be better (ready 09:00), but the order is kept:
    # the drop-off moves up to 08:00 and the waiter follows it at 09:00, ready at 10:00.
    tiny = day(
        [tech("T1")],
        [bay("L1")],
        [
            booking("A", "CHECK", "08:00", promised="17:00"),
            booking("B", "CHECK", "08:00", waiting=True),
        ],
    )
    given = [
        Assignment(hm("09:00"), hm("10:00"), "A", "CHECK", 0, "L1", "T1"),
        Assignment(hm("11:00"), hm("12:00"), "B", "CHECK", 0, "L1", "T1"),
    ]
    first, second = retimed(tiny, given)
    assert (first.booking, second.booking) == ("A", "B")
    assert second.start == first.end
    assert second.end == hm("10:00")


def test_retiming_respects_parts_on_the_shelf() -> None:
    # The oil change needs 4 litres that arrive at 10:00: after the check (08:00-09:00) the
    # waiter's oil change can move up from 11:00, but only to 10:00, not to 09:00.
    tiny = day(
        [tech("T1")],
        [bay("L1")],
        [
            booking("A", "CHECK", "08:00", promised="17:00"),
            booking("B", "OIL", "08:00", waiting=True),
        ],
        oil=0,
        deliveries=[("10:00", 4)],
    )
    given = [
        Assignment(hm("08:00"), hm("09:00"), "A", "CHECK", 0, "L1", "T1"),
        Assignment(hm("11:00"), hm("12:00"), "B", "OIL", 0, "L1", "T1"),
    ]
    _, oil = retimed(tiny, given)
    assert oil.start == hm("10:00")


def test_a_tight_plan_is_returned_as_it_is() -> None:
    tiny = day(
        [tech("T1")],
        [bay("L1")],
        [booking("A", "CHECK", "08:00", waiting=True), booking("B", "CHECK", "08:00")],
    )
    given = [
        Assignment(hm("08:00"), hm("09:00"), "A", "CHECK", 0, "L1", "T1"),
        Assignment(hm("09:00"), hm("10:00"), "B", "CHECK", 0, "L1", "T1"),
    ]
    assert retimed(tiny, given) == given


@pytest.mark.parametrize("seed", [0, 1])
def test_retiming_a_generated_plan_gives_a_valid_plan_no_worse(seed: int) -> None:
    from benchmarks.generate import generate_day_object
    from scheduler.solve import best_dispatch_plan

    generated = generate_day_object("small", seed)
    start = best_dispatch_plan(generated)
    retimed(generated, list(start.assignments), start.unscheduled)
