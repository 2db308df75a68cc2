"""Scale (issue 3, table 4): xl days of 300 bookings.

1. Dispatch: time of the best dispatch plan on xl days (median of several runs per day).
2. Model: time to compile an xl day and build the *whole* CP-SAT model, its size, and the
   memory it takes (Python allocations by tracemalloc; process resident memory before/after).
3. Objective over time: ``solve(day, "cpsat")`` on one xl day with a progress callback; the best
   objective (and bound) at fixed checkpoints, against the dispatch plan's objective.

    python benchmarks/scale.py [--days 3] [--runs 5] [--limit 60] [--workers 2]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import psutil
from ortools.sat.python import cp_model
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.generate import generate_day_object
from scheduler.checker import check_plan
from scheduler.cpsat.model import build_model
from scheduler.cpsat.problem import compile_day
from scheduler.solve import Progress, best_dispatch_plan, solve


def serialized_mb(model: cp_model.CpModel) -> float:
    """Size of the model's serialized protocol buffer, in MB."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.pb"
        model.export_to_file(str(path))
        return path.stat().st_size / 1e6


CHECKPOINTS = (0.5, 1, 2, 5, 10, 20, 30, 45, 60, 90, 120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--limit", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    console = Console(width=160)
    days = [generate_day_object("xl", seed) for seed in range(args.days)]

    timing = Table(title="xl days: dispatch plan and whole CP-SAT model")
    for column in [
        "day",
        "bookings",
        "operations",
        "dispatch s (median)",
        "dispatch s (max)",
        "compile s",
        "build s",
        "variables",
        "constraints",
        "model MB",
        "Python peak MB",
        "RSS +MB",
    ]:
        timing.add_column(column, justify="right")
    process = psutil.Process()
    for seed, day in enumerate(days):
        runs = []
        for _ in range(args.runs):
            began = time.perf_counter()
            plan = best_dispatch_plan(day)
            runs.append(time.perf_counter() - began)
        if check_plan(day, plan):
            raise SystemExit(f"xl {seed}: invalid dispatch plan")
        gc.collect()
        rss = process.memory_info().rss
        began = time.perf_counter()
        problem = compile_day(day)
        compiled = time.perf_counter() - began
        began = time.perf_counter()
        pm = build_model(problem)
        built = time.perf_counter() - began
        grown = process.memory_info().rss - rss
        proto = pm.model.proto
        # A second build under tracemalloc (which slows allocation down) for Python's share.
        tracemalloc.start()
        build_model(compile_day(day))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        timing.add_row(
            f"xl {seed}",
            str(len(day.bookings)),
            str(len(problem.tasks)),
            f"{statistics.median(runs):.2f}",
            f"{max(runs):.2f}",
            f"{compiled:.2f}",
            f"{built:.2f}",
            str(len(proto.variables)),
            str(len(proto.constraints)),
            f"{serialized_mb(pm.model):.1f}",
            f"{peak / 1e6:.0f}",
            f"{grown / 1e6:.0f}",
        )
        del pm, problem
    console.print(timing)

    day = days[0]
    start = best_dispatch_plan(day)
    seen: list[Progress] = []
    began = time.perf_counter()
    plan = solve(day, "cpsat", time_limit=args.limit, workers=args.workers, on_progress=seen.append)
    elapsed = time.perf_counter() - began
    if check_plan(day, plan):
        raise SystemExit("xl 0: invalid CP-SAT plan")
    curve = Table(
        title=f"xl 0, solve(method='cpsat', time_limit={args.limit:g}, workers={args.workers}): "
        f"best objective over time (dispatch plan {float(start.objective):.0f})"
    )
    for column in ["seconds", "objective", "vs dispatch", "bound"]:
        curve.add_column(column, justify="right")
    for at in [c for c in CHECKPOINTS if c <= args.limit]:
        known = [p for p in seen if p.seconds <= at]
        if not known:
            curve.add_row(f"{at:g}", "-", "-", "-")
            continue
        p = known[-1]
        gain = 1 - p.objective / float(start.objective) if start.objective else 0.0
        curve.add_row(f"{at:g}", f"{p.objective:.0f}", f"{gain:.1%}", f"{p.bound:.0f}")
    console.print(curve)
    console.print(
        f"final: {float(plan.objective):.0f} ({plan.status.value}, bound "
        f"{float(plan.lower_bound):.0f}, {len(plan.unscheduled)} left out, dispatch left out "
        f"{len(start.unscheduled)}), returned after {elapsed:.1f}s for a {args.limit:g}s limit; "
        f"{len(seen)} progress reports"
    )


if __name__ == "__main__":
    main()
