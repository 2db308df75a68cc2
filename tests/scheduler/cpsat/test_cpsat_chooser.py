"""Which neighbourhoods the large-day search re-plans (``lns._Chooser``).

The kinds that gain most per second are picked most, yet every kind keeps being tried; a booking
left out is re-planned around up to ``LEFT_OUT_TRIES`` times, then only now and then.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from typing import Any

import scheduler.cpsat.lns  # noqa: F401  (the module, not the function the package exports)
from benchmarks.generate import generate_day_object
from scheduler.cpsat.problem import compile_day
from scheduler.cpsat.search import Solution, evaluate, solution_from_assignments
from scheduler.domain import Day
from scheduler.solve import best_dispatch_plan

lns = sys.modules["scheduler.cpsat.lns"]


def chooser_and_state(day: Day) -> tuple[Any, Any]:
    """A chooser for ``day`` and the state of its dispatch plan."""
    problem = compile_day(day)
    start = best_dispatch_plan(day)
    solution, exact = solution_from_assignments(problem, start.assignments)
    assert exact
    state = lns._State(lns._group(start.assignments), solution, evaluate(problem, solution))
    return lns._Chooser(day, problem, random.Random(0)), state


def test_the_kind_that_pays_is_picked_most_and_every_kind_stays_in_play() -> None:
    chooser, state = chooser_and_state(generate_day_object("small", 0))
    picks: Counter[str | None] = Counter()
    for _ in range(600):
        chooser.choose(state, 6)
        kind = chooser.kind
        picks[kind] += 1
        # Costly bookings gain 100 per second, the other kinds nothing.
        chooser.reward(100 if kind == "costly" else 0, 0.5, 0.5)
    assert picks["costly"] > 0.7 * 600
    for kind in lns.KINDS:
        # EXPLORE / 3 of the picks each, about 40 of 600.
        assert picks[kind] >= 20, picks


def test_scores_follow_a_change_in_what_pays() -> None:
    chooser, state = chooser_and_state(generate_day_object("small", 1))
    for _ in range(50):
        chooser.choose(state, 6)
        chooser.reward(100 if chooser.kind == "window" else 0, 0.5, 0.5)
    for _ in range(50):
        chooser.choose(state, 6)
        chooser.reward(100 if chooser.kind == "technician" else 0, 0.5, 0.5)
    assert chooser.score["technician"] > chooser.score["window"]


def test_a_booking_left_out_is_tried_a_few_times_then_rarely() -> None:
    day = generate_day_object("small", 0)
    chooser, state = chooser_and_state(day)
    left_out = day.bookings[0].id
    state.by_booking.pop(left_out)
    j = chooser.jobs[left_out]
    present = list(state.solution.present)
    present[j] = False
    state.solution = Solution(tuple(present), state.solution.choices)
    around = 0
    for _ in range(400):
        subset = chooser.choose(state, 6)
        if chooser.kind is None:
            around += 1
            assert left_out in subset
    assert chooser.tries[left_out] == lns.LEFT_OUT_TRIES
    # The tries, then about LEFT_OUT_RETRY of the rest (about 20 of 400).
    assert lns.LEFT_OUT_TRIES < around < lns.LEFT_OUT_TRIES + 50
