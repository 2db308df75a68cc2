"""The simulation's re-planner on random days: every re-plan keeps every car it covers.

When a simulated day drifts from its plan (jobs overrun, cars come late or not at all, walk-ins
arrive, parts are late), the plan follower re-plans the rest of the day as a residual day
(``simulation.replan.residual_day``). Each of those re-plans must pass the plan checker on the
residual day (so nothing starts before now, when technicians and bays are busy until then),
and every car it covers must be either placed with all its remaining operations or left out,
never lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scheduler.checker import check_plan
from scheduler.domain import Day
from scheduler.io import load_day
from scheduler.plan import Assignment, Plan, PlanStatus, Unscheduled
from scheduler.solve import solve
from simulation.model import simulate_day
from simulation.policies import FollowPlan
from simulation.replan import Replanner
from simulation.uncertainty import Uncertainty

SMALL_DAY = Path(__file__).parents[1] / "api" / "data" / "small-day.yaml"


@dataclass(frozen=True)
class CheckingReplanner(Replanner):
    """A ``Replanner`` that checks each re-plan it makes (and counts them)."""

    made: list[int] = field(default_factory=list)  # bookings covered, per re-plan

    def plan(self, day: Day) -> tuple[list[Assignment], set[str]]:
        assignments, left_out = Replanner.plan(self, day)
        plan = Plan.build(
            day,
            assignments,
            [Unscheduled(b, "left out of the re-plan") for b in sorted(left_out)],
            status=PlanStatus.HEURISTIC,
        )
        violations = check_plan(day, plan)
        assert violations == [], [str(v) for v in violations[:3]]
        placed = {a.booking for a in assignments}
        assert placed.isdisjoint(left_out)
        assert placed | left_out == {b.id for b in day.bookings}
        self.made.append(len(day.bookings))
        return assignments, left_out


def _simulate(
    seed: int, spread: float, no_show: float, walk_ins: float, late_delivery: float, threshold: int
) -> CheckingReplanner:
    """Simulate the small day following its fcfs plan; the checking re-planner it used."""
    day = load_day(SMALL_DAY)
    replanner = CheckingReplanner()
    policy = FollowPlan(solve(day, "fcfs").assignments, replanner=replanner, threshold=threshold)
    u = Uncertainty(
        duration_spread=spread,
        no_show=no_show,
        walk_ins_per_hour=walk_ins,
        late_delivery=late_delivery,
    )
    result = simulate_day(day, policy, u, seed=seed)
    assert result.replans == len(replanner.made)
    return replanner


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    spread=st.sampled_from([0.1, 0.4, 0.8]),
    no_show=st.sampled_from([0.0, 0.2]),
    walk_ins=st.sampled_from([0.0, 1.0, 3.0]),
    late_delivery=st.sampled_from([0.0, 0.5]),
    threshold=st.sampled_from([0, 20]),
)
def test_every_simulated_re_plan_is_valid_and_keeps_every_car(
    seed: int, spread: float, no_show: float, walk_ins: float, late_delivery: float, threshold: int
) -> None:
    replanner = _simulate(seed, spread, no_show, walk_ins, late_delivery, threshold)
    event("re-planned" if replanner.made else "never re-planned")


def test_a_day_that_drifts_is_re_planned_and_checked() -> None:
    """The property above checks re-plans only where there are some: a rough day has them."""
    replanner = _simulate(7, 0.8, 0.2, 3.0, 0.5, 0)
    assert len(replanner.made) >= 2
