"""CP-SAT on generated days: valid plans, never worse than the start, honest bounds, the API.

Assertions are on checked invariants (STYLE.md): every plan passes the checker, is no worse
than the dispatch plan it started from, and its bound is below every known plan's objective.
"""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from typing import Any

import pytest

from benchmarks.generate import generate_day_object
from scheduler.checker import check_plan
from scheduler.cpsat import improve
from scheduler.cpsat.problem import compile_day
from scheduler.cpsat.relaxation import own_path_bound, parts_bound, pooled_bound
from scheduler.cpsat.search import evaluate, solution_from_assignments
from scheduler.domain import Day
from scheduler.plan import Assignment, Plan, PlanStatus
from scheduler.solve import RULES, Progress, best_dispatch_plan, dispatch_plan, solve

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")  # no silent fall-backs


def assert_improves(day: Day, start: Plan, plan: Plan) -> None:
    """Valid, every booking once, no worse than ``start``, bound below the objective."""
    assert check_plan(day, plan) == [], check_plan(day, plan)[:3]
    listed = plan.scheduled_bookings() | {u.booking for u in plan.unscheduled}
    assert listed == {b.id for b in day.bookings}
    assert len(plan.unscheduled) <= len(start.unscheduled)
    assert plan.objective <= start.objective
    assert 0 <= plan.lower_bound <= plan.objective
    assert plan.status in (PlanStatus.OPTIMAL, PlanStatus.FEASIBLE, PlanStatus.HEURISTIC)


@pytest.mark.parametrize(
    ("size", "seed", "limit"),
    [("tiny", 0, 2), ("tiny", 1, 2), ("small", 0, 3), ("small", 1, 3), ("medium", 0, 4)],
)
def test_generated_days_give_valid_better_plans(size: str, seed: int, limit: float) -> None:
    day = generate_day_object(size, seed)
    start = best_dispatch_plan(day)
    plan = improve(day, start, time_limit=limit)
    assert_improves(day, start, plan)


def test_rush_day_with_neighbourhood_search() -> None:
    day = generate_day_object("small", 3, rush=True)
    start = best_dispatch_plan(day)
    plan = improve(day, start, time_limit=3, neighbourhood=True)
    assert_improves(day, start, plan)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bound_never_exceeds_any_known_plan(seed: int) -> None:
    """On small days the proven bound sits below every dispatch rule's plan and CP-SAT's own."""
    day = generate_day_object("small", seed)
    plan = improve(day, best_dispatch_plan(day), time_limit=3)
    known = [dispatch_plan(day, rule).objective for rule in RULES] + [plan.objective]
    assert plan.lower_bound <= min(known)


@pytest.mark.parametrize(("size", "seed"), [("small", 0), ("medium", 1), ("medium", 2)])
def test_relaxation_bounds_are_below_the_dispatch_plan(size: str, seed: int) -> None:
    day = generate_day_object(size, seed, rush=seed == 2)
    problem = compile_day(day)
    start = best_dispatch_plan(day)
    value = start.objective * problem.scale
    assert own_path_bound(problem) <= parts_bound(problem) <= value
    assert own_path_bound(problem) <= pooled_bound(problem) <= value


@pytest.mark.parametrize(("size", "seed"), [("small", 2), ("medium", 3), ("large", 0)])
def test_dispatch_plan_maps_exactly_into_the_model(size: str, seed: int) -> None:
    """A valid plan is a solution of the compiled problem, evaluated to the same objective."""
    day = generate_day_object(size, seed)
    start = best_dispatch_plan(day)
    problem = compile_day(day)
    solution, exact = solution_from_assignments(problem, start.assignments)
    assert exact
    assert Fraction(evaluate(problem, solution).design, problem.scale) == start.objective


@pytest.mark.parametrize(("size", "neighbourhood"), [("medium", False), ("large", True)])
def test_same_seed_one_worker_same_plan(size: str, neighbourhood: bool) -> None:
    """Unproven searches too: one worker runs on CP-SAT's deterministic clock (a small budget,
    about a second here, far within the time limit even on a loaded machine)."""
    day = generate_day_object(size, 4)
    start = best_dispatch_plan(day)
    runs = [
        improve(
            day,
            start,
            time_limit=30,
            workers=1,
            seed=7,
            neighbourhood=neighbourhood,
            deterministic_time=0.02,
        )
        for _ in range(2)
    ]
    assert runs[0].assignments == runs[1].assignments
    assert runs[0].objective == runs[1].objective


def test_time_limit_holds_including_model_build() -> None:
    day = generate_day_object("medium", 5)
    start = best_dispatch_plan(day)
    began = time.perf_counter()
    plan = improve(day, start, time_limit=1.5)
    assert time.perf_counter() - began < 1.5 + 0.5
    assert_improves(day, start, plan)


def test_time_limit_holds_in_neighbourhood_search() -> None:
    day = generate_day_object("large", 1)
    start = best_dispatch_plan(day)
    began = time.perf_counter()
    plan = improve(day, start, time_limit=3)
    assert time.perf_counter() - began < 3 + 0.6
    assert_improves(day, start, plan)


def test_stopped_early_returns_the_best_plan_so_far() -> None:
    day = generate_day_object("medium", 6, rush=True)
    start = best_dispatch_plan(day)
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    began = time.perf_counter()
    plan = improve(day, start, time_limit=60, stop=stop)
    assert time.perf_counter() - began < 5
    assert_improves(day, start, plan)


def test_progress_reports_improvements_with_a_bound_below() -> None:
    day = generate_day_object("small", 1, rush=True)
    seen: list[Progress] = []
    plan = solve(day, "cpsat", time_limit=2, on_progress=seen.append)
    assert seen
    assert all(p.bound <= p.objective + 1e-9 for p in seen)
    assert [p.objective for p in seen] == sorted((p.objective for p in seen), reverse=True)
    assert seen[-1].objective >= float(plan.objective) - 1e-9


@pytest.mark.parametrize("neighbourhood", [False, True])
def test_frozen_assignments_are_kept_exactly(neighbourhood: bool) -> None:
    """Freeze the dispatch plan's first operations (as if started at 09:00) and re-plan."""
    day = generate_day_object("small", 5)
    start = best_dispatch_plan(day)
    frozen = [a for a in start.assignments if a.start < 9 * 60]
    assert frozen
    plan = improve(day, start, time_limit=2, frozen=frozen, neighbourhood=neighbourhood)
    assert set(frozen) <= set(plan.assignments)
    assert_improves(day, start, plan)


def test_frozen_assignment_must_be_in_the_start_plan() -> None:
    day = generate_day_object("tiny", 0)
    start = best_dispatch_plan(day)
    a = start.assignments[0]
    moved = Assignment(
        a.start + 1, a.end + 1, a.booking, a.service, a.operation, a.bay, a.technician
    )
    with pytest.raises(ValueError, match="frozen"):
        improve(day, start, time_limit=1, frozen=[moved])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"objective": "tardiness"}, "objective"),
        ({"time_limit": 0}, "time_limit"),
        ({"workers": 0}, "workers"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    day = generate_day_object("tiny", 0)
    arguments: dict[str, object] = {"time_limit": 1, **kwargs}
    with pytest.raises(ValueError, match=message):
        improve(day, best_dispatch_plan(day), **arguments)  # type: ignore[arg-type]


def test_solve_entry_point_with_cpsat() -> None:
    day = generate_day_object("small", 6)
    plan = solve(day, "cpsat", time_limit=2)
    assert check_plan(day, plan) == []
    assert plan.status in (PlanStatus.OPTIMAL, PlanStatus.FEASIBLE, PlanStatus.HEURISTIC)


@pytest.mark.parametrize(("size", "seed", "rush"), [("small", 7, False), ("medium", 8, True)])
def test_warm_start_is_a_feasible_solution_of_the_model(size: str, seed: int, rush: bool) -> None:
    """The hint (relabelled for symmetry breaking) satisfies every constraint: fixing every
    hinted variable to its value leaves a feasible model."""
    from ortools.sat.python import cp_model

    from scheduler.cpsat import Strengthening
    from scheduler.cpsat.model import build_model
    from scheduler.cpsat.search import add_hint, canonical

    day = generate_day_object(size, seed, rush=rush)
    start = best_dispatch_plan(day)
    problem = compile_day(day)
    solution, _ = solution_from_assignments(problem, start.assignments)
    every = Strengthening(True, True, True, True)  # symmetry breaking relabels the hint
    pm = build_model(problem, options=every, upper_bound=evaluate(problem, solution).value)
    add_hint(pm, canonical(problem, solution))
    hint = pm.model.proto.solution_hint
    for var, value in zip(hint.vars, hint.values, strict=True):
        pm.model.add(pm.model.get_int_var_from_proto_index(var) == value)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 10
    assert solver.status_name(solver.solve(pm.model)) in ("OPTIMAL", "FEASIBLE")


def test_every_strengthening_on_gives_valid_plans() -> None:
    """The optional strengthenings off by default still make valid, no-worse plans."""
    from scheduler.cpsat import Strengthening

    day = generate_day_object("medium", 9, rush=True)
    start = best_dispatch_plan(day)
    every = Strengthening(True, True, True, True)
    plan = improve(day, start, time_limit=2, strengthening=every)
    assert_improves(day, start, plan)


@pytest.mark.parametrize(
    ("size", "seed", "rush", "switches"), [("tiny", 0, False, False), ("medium", 1, True, True)]
)
def test_a_stalled_whole_model_hands_over_to_neighbourhoods(
    monkeypatch: pytest.MonkeyPatch, size: str, seed: int, rush: bool, switches: bool
) -> None:
    """A rush day's proof is far out of reach at 40% of the time: the rest goes to the
    neighbourhood search, from the whole model's best plan. A tiny day is proven optimal
    first and never switches."""
    import scheduler.cpsat.lns as lns

    calls: list[int] = []
    original = lns.neighbourhood_search

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(lns, "neighbourhood_search", counted)
    day = generate_day_object(size, seed, rush=rush)
    start = best_dispatch_plan(day)
    plan = improve(day, start, time_limit=4)
    assert_improves(day, start, plan)
    assert bool(calls) == switches
    if not switches:
        assert plan.status == PlanStatus.OPTIMAL


def test_patience_stops_a_search_only_after_its_first_solution() -> None:
    """With patience, the watcher leaves a search alone until a first solution arrives, then
    stops it once that long passes without a better one."""
    from types import SimpleNamespace

    from scheduler.cpsat.search import _watch

    stops: list[float] = []
    solver = SimpleNamespace(stop_search=lambda: stops.append(time.perf_counter()))
    recorder = SimpleNamespace(improved=None)
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=([], done, solver, recorder, 0.1))
    watcher.start()
    time.sleep(0.3)
    assert stops == []  # no solution yet: the patience clock has not started
    recorder.improved = time.perf_counter()
    watcher.join(timeout=5)
    done.set()
    assert len(stops) == 1
    assert stops[0] - recorder.improved >= 0.1
