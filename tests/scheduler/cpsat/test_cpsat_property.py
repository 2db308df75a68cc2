"""Property: on any small generated day, CP-SAT's plan is valid and no worse than its start."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.generate import generate_day_object
from scheduler.checker import check_plan
from scheduler.cpsat import improve
from scheduler.solve import best_dispatch_plan

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")  # no silent fall-backs


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    load=st.floats(0.5, 1.2),
    waiter_share=st.floats(0.0, 1.0),
    rush=st.booleans(),
    neighbourhood=st.booleans(),
)
def test_small_days_valid_and_no_worse(
    seed: int, load: float, waiter_share: float, rush: bool, neighbourhood: bool
) -> None:
    day = generate_day_object("small", seed, load=load, waiter_share=waiter_share, rush=rush)
    start = best_dispatch_plan(day)
    plan = improve(day, start, time_limit=0.8, neighbourhood=neighbourhood)
    assert check_plan(day, plan) == []
    assert len(plan.unscheduled) <= len(start.unscheduled)
    assert plan.objective <= start.objective
    assert 0 <= plan.lower_bound <= plan.objective
