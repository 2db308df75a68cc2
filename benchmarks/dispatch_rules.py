"""Dispatch rules against the whiteboard: weighted wait and bookings left out, and xl speed.

Prints two tables:
1. For the sample scenarios and 20 generated medium days: fcfs, each dispatch rule, and the
   `dispatch` method (best rule improved by ruin and recreate): objective, bookings left out,
   waiter mean wait, the reduction of the objective against fcfs and of the weighted wait of
   the bookings both plans place (fcfs leaves more out, and a booking left out has no wait);
   the median reductions.
2. Solve time of `dispatch` on xl days (300 bookings, 40 bays, 35 technicians): median of
   several runs, measured around `solve(day, "dispatch")` only (reading the file excluded).

Every plan is checked with the plan checker; a failing plan stops the benchmark.

    python benchmarks/dispatch_rules.py [--medium-days 20] [--xl-days 3] [--xl-runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.generate import generate_day_object
from scheduler.checker import check_plan
from scheduler.domain import Day
from scheduler.io import load_day
from scheduler.kpis import weighted_wait_of
from scheduler.plan import Plan
from scheduler.solve import RULES, dispatch_plan, solve

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def checked(day: Day, plan: Plan, what: str) -> Plan:
    violations = check_plan(day, plan)
    if violations:
        raise SystemExit(f"{what}: invalid plan: {violations[0]}")
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--medium-days", type=int, default=20)
    parser.add_argument("--xl-days", type=int, default=3)
    parser.add_argument("--xl-runs", type=int, default=5)
    args = parser.parse_args()
    console = Console(width=200)

    days: list[tuple[str, Day]] = [(p.stem, load_day(p)) for p in sorted(SCENARIOS.glob("*.yaml"))]
    days += [
        (f"medium seed {s}", generate_day_object("medium", s)) for s in range(args.medium_days)
    ]

    table = Table(title="Objective (weighted wait + 10000 x weight per booking left out)")
    table.add_column("day")
    for name in RULES:
        table.add_column(name, justify="right")
    table.add_column("dispatch", justify="right")
    table.add_column("left out fcfs/dispatch", justify="right")
    table.add_column("waiter mean fcfs/dispatch", justify="right")
    table.add_column("reduction", justify="right")
    table.add_column("w. wait reduction, both placed", justify="right")
    table.add_column("dispatch s", justify="right")
    reductions: dict[str, list[float]] = {"sample": [], "medium": []}
    wait_reductions: dict[str, list[float]] = {"sample": [], "medium": []}
    for name, day in days:
        plans = {rule: checked(day, dispatch_plan(day, rule), f"{name} {rule}") for rule in RULES}
        started = time.perf_counter()
        best = checked(day, solve(day, "dispatch"), f"{name} dispatch")
        seconds = time.perf_counter() - started
        fcfs = plans["fcfs"]
        reduction = float(1 - best.objective / fcfs.objective) if fcfs.objective else 0.0
        group = "medium" if name.startswith("medium") else "sample"
        reductions[group].append(reduction)
        both = best.scheduled_bookings() & fcfs.scheduled_bookings()
        theirs = weighted_wait_of(day, fcfs, both)
        wait_reduction = float(1 - weighted_wait_of(day, best, both) / theirs) if theirs else 0.0
        wait_reductions[group].append(wait_reduction)
        table.add_row(
            name,
            *(f"{float(p.objective):.0f}" for p in plans.values()),
            f"{float(best.objective):.0f}",
            f"{len(fcfs.unscheduled)}/{len(best.unscheduled)}",
            f"{fcfs.kpis['waiter_mean_wait']:.0f}/{best.kpis['waiter_mean_wait']:.0f}",
            f"{reduction:.1%}",
            f"{wait_reduction:.1%}",
            f"{seconds:.2f}",
        )
    console.print(table)
    for what, groups in (
        ("the objective", reductions),
        ("the weighted wait of the bookings both place", wait_reductions),
    ):
        for group, values in groups.items():
            if values:
                console.print(
                    f"{group} days: median reduction of {what} against fcfs "
                    f"{statistics.median(values):.1%} (min {min(values):.1%}, "
                    f"max {max(values):.1%}, {len(values)} days)"
                )

    speed = Table(title="dispatch on xl days: solve time (median of runs; CPU s = this process)")
    for col in (
        "day",
        "bookings",
        "bays",
        "technicians",
        "median s",
        "max s",
        "median CPU s",
        "objective",
        "fcfs objective",
    ):
        speed.add_column(col, justify="right")
    for seed in range(args.xl_days):
        day = generate_day_object("xl", seed)
        times, cpu = [], []
        plan = None
        for _ in range(args.xl_runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            plan = solve(day, "dispatch")
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        assert plan is not None
        checked(day, plan, f"xl {seed}")
        fcfs = dispatch_plan(day, "fcfs")
        speed.add_row(
            f"xl seed {seed}",
            str(len(day.bookings)),
            str(len(day.workshop.bays)),
            str(len(day.workshop.technicians)),
            f"{statistics.median(times):.3f}",
            f"{max(times):.3f}",
            f"{statistics.median(cpu):.3f}",
            f"{float(plan.objective):.0f}",
            f"{float(fcfs.objective):.0f}",
        )
    console.print(speed)


if __name__ == "__main__":
    main()
