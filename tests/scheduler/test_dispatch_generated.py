"""Every heuristic plan passes the checker on every sample day and generated day, any size."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.generate import generate_day_object
from scheduler.checker import check_plan
from scheduler.dispatch.improve import improve_schedule
from scheduler.domain import Day
from scheduler.io import load_day
from scheduler.kpis import weighted_wait_of
from scheduler.plan import Plan, PlanStatus, objective_parts
from scheduler.solve import RULES, best_dispatch_plan, dispatch_plan
from tests.utils import SCENARIOS


def _assert_valid(day: Day, plan: Plan) -> None:
    assert check_plan(day, plan) == [], check_plan(day, plan)[:3]
    assert 0 <= plan.lower_bound <= plan.objective
    listed = plan.scheduled_bookings() | {u.booking for u in plan.unscheduled}
    assert listed == {b.id for b in day.bookings}


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_sample_days(path: Path) -> None:
    day = load_day(path)
    for rule in RULES:
        _assert_valid(day, dispatch_plan(day, rule))
    best = best_dispatch_plan(day)
    _assert_valid(day, best)
    fcfs = dispatch_plan(day, "fcfs")
    assert (len(best.unscheduled), best.objective) <= (len(fcfs.unscheduled), fcfs.objective)


@pytest.mark.parametrize("size", ["tiny", "small", "medium", "large", "xl"])
def test_generated_days_of_every_size(size: str) -> None:
    for seed in range(2):
        day = generate_day_object(size, seed)
        for rule in RULES:
            _assert_valid(day, dispatch_plan(day, rule))
        _assert_valid(day, best_dispatch_plan(day, moves=30))


def test_rush_day() -> None:
    day = generate_day_object("medium", 7, rush=True)
    _assert_valid(day, best_dispatch_plan(day))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.sampled_from(["tiny", "small", "medium"]),
    seed=st.integers(0, 10_000),
    load=st.floats(0.3, 1.1),
    rush=st.booleans(),
)
def test_property_every_rule_is_valid(size: str, seed: int, load: float, rush: bool) -> None:
    day = generate_day_object(size, seed, load=load, rush=rush)
    for rule in RULES:
        _assert_valid(day, dispatch_plan(day, rule))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), move_seed=st.integers(0, 100))
def test_property_ruin_and_recreate_never_worsens(seed: int, move_seed: int) -> None:
    day = generate_day_object("small", seed, load=0.95)
    start = RULES["fcfs"].schedule(day)
    improved = improve_schedule(day, start, iterations=60, seed=move_seed)
    plan = Plan.build(day, *improved, status=PlanStatus.HEURISTIC)
    _assert_valid(day, plan)
    before = (len(start[1]), objective_parts(day, *start).total)
    assert (len(plan.unscheduled), plan.objective) <= before


def test_same_seed_same_plan() -> None:
    day = generate_day_object("medium", 3)
    assert best_dispatch_plan(day, seed=5) == best_dispatch_plan(day, seed=5)


def test_weighted_wait_of_the_bookings_both_plans_place() -> None:
    """Over all it places, a plan's weighted wait is its objective's weighted-wait part; over
    the bookings two plans share, each sum is at most its whole and the parts add up."""
    day = generate_day_object("medium", 3)
    fcfs, best = dispatch_plan(day, "fcfs"), best_dispatch_plan(day)
    assert weighted_wait_of(day, best, best.scheduled_bookings()) == best.parts.weighted_wait
    both = best.scheduled_bookings() & fcfs.scheduled_bookings()
    assert best.scheduled_bookings() - both  # fcfs leaves out bookings best places
    for plan in (fcfs, best):
        rest = plan.scheduled_bookings() - both
        assert (
            weighted_wait_of(day, plan, both) + weighted_wait_of(day, plan, rest)
            == plan.parts.weighted_wait
        )
