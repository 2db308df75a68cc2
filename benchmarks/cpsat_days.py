"""CP-SAT on generated days (issue 3, table 1): fcfs, best dispatch, CP-SAT at 10 s and 30 s.

For each kind of day (``medium`` ~40 bookings, ``large`` ~120, ``rush``: medium size on a
Saturday-morning peak, technician load 97%, 60% waiters) and each seed, plans the day with
fcfs, the best dispatch plan and ``solve(day, "cpsat", time_limit=T, workers=2)`` for each T
(the time includes the dispatch start), checks every plan with the plan checker (an invalid
plan stops the benchmark), and prints per-day rows and a summary of medians:

- objective (weighted wait + 10000 x weight per booking left out), its weighted-wait part,
  bookings left out, waiter mean and p90 wait, drop-off on-time share;
- the proven bound and gap of each CP-SAT plan, and its distance to the best plan known;
- ratios against fcfs and the best dispatch plan measured in the same run.

The *best plan known* for a day is the lowest objective ever seen for it: this run's plans and
a cache of earlier runs (keyed by a hash of the generated day, so a changed generator starts
afresh). ``--best-known-seconds 600`` first runs CP-SAT that long on each day, warm-started from
the best cached plan, to establish it. The cache is ``benchmarks/data/best_known_days.json``,
kept in the repository so that "to best known" means the same from a plain clone; a run that
beats an entry rewrites it (commit it with the figures it produced).

    python benchmarks/cpsat_days.py [--kinds medium,large,rush] [--seeds 10] [--limits 10,30]
        [--solver-seed 0] [--best-known-seconds 0] [--cache benchmarks/data/best_known_days.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.generate import generate_day
from scheduler.checker import check_plan
from scheduler.cpsat import improve
from scheduler.domain import Day
from scheduler.io import parse_day
from scheduler.kpis import weighted_wait_of
from scheduler.plan import Assignment, Plan, PlanStatus, Unscheduled
from scheduler.solve import best_dispatch_plan, dispatch_plan, solve

DATA = Path(__file__).resolve().parent / "data"
KINDS = {"medium": ("medium", False), "large": ("large", False), "rush": ("medium", True)}


@dataclass(frozen=True, slots=True)
class Run:
    """One plan of one day, with how long it took."""

    method: str
    plan: Plan
    seconds: float


def day_key(data: dict[str, Any]) -> str:
    """A hash of a generated day's data: the cache key."""
    return hashlib.sha1(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def checked(day: Day, plan: Plan, what: str) -> Plan:
    violations = check_plan(day, plan)
    if violations:
        raise SystemExit(f"{what}: invalid plan: {violations[0]}")
    return plan


class BestKnown:
    """The best plan known per day, kept in a JSON file between runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def objective(self, key: str) -> Fraction | None:
        entry = self.data.get(key)
        return Fraction(entry["objective"]) if entry else None

    def plan(self, key: str, day: Day) -> Plan | None:
        entry = self.data.get(key)
        if not entry:
            return None
        plan = Plan.build(
            day,
            [Assignment(*row) for row in entry["assignments"]],
            [Unscheduled(*row) for row in entry["unscheduled"]],
            status=PlanStatus.FEASIBLE,
        )
        return plan if not check_plan(day, plan) else None

    def offer(self, key: str, plan: Plan, source: str) -> None:
        known = self.objective(key)
        if known is None or plan.objective < known:
            self.data[key] = {
                "objective": str(plan.objective),
                "source": source,
                "assignments": [
                    [a.start, a.end, a.booking, a.service, a.operation, a.bay, a.technician]
                    for a in plan.assignments
                ],
                "unscheduled": [[u.booking, u.reason] for u in plan.unscheduled],
            }
            self.path.write_text(json.dumps(self.data))


def establish_best_known(
    console: Console, cache: BestKnown, days: list[tuple[str, str, Day]], seconds: float
) -> None:
    """Run CP-SAT for ``seconds`` on each day from its best plan so far; remember the result."""
    for name, key, day in days:
        start = cache.plan(key, day) or best_dispatch_plan(day)
        began = time.perf_counter()
        plan = checked(day, improve(day, start, time_limit=seconds), f"{name} best-known")
        cache.offer(key, plan, f"cpsat {seconds:g}s")
        console.print(
            f"{name}: best known {float(cache.objective(key) or 0):.1f} "
            f"(this run {float(plan.objective):.1f}, bound {float(plan.lower_bound):.1f}, "
            f"{time.perf_counter() - began:.0f}s)"
        )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="medium,large,rush")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--limits", default="10,30")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--solver-seed", type=int, default=0, help="seed of CP-SAT and the neighbourhood search"
    )
    parser.add_argument("--best-known-seconds", type=float, default=0)
    parser.add_argument("--cache", type=Path, default=DATA / "best_known_days.json")
    args = parser.parse_args()
    console = Console(width=200)
    limits = [float(x) for x in args.limits.split(",") if x]
    cache = BestKnown(args.cache)

    days: list[tuple[str, str, str, Day]] = []
    for kind in args.kinds.split(","):
        size, rush = KINDS[kind]
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            data = generate_day(size, seed, rush=rush)
            day = parse_day(data, source=f"<{kind} {seed}>")
            days.append((kind, f"{kind} {seed}", day_key(data), day))
    if args.best_known_seconds > 0:
        establish_best_known(
            console, cache, [(n, k, d) for _, n, k, d in days], args.best_known_seconds
        )

    methods = ["fcfs", "dispatch", *(f"cpsat {t:g}s" for t in limits)]
    rows: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    detail = Table(title="Per day: objective (left out) | bound | gap to best known")
    for column in ["day", *methods, "best known", "bound", "gap proven", "to best known"]:
        detail.add_column(column, justify="right")
    for kind, name, key, day in days:
        runs: list[Run] = []
        began = time.perf_counter()
        runs.append(Run("fcfs", checked(day, dispatch_plan(day, "fcfs"), name), 0.0))
        runs[-1] = Run("fcfs", runs[-1].plan, time.perf_counter() - began)
        began = time.perf_counter()
        plan = checked(day, best_dispatch_plan(day), f"{name} dispatch")
        runs.append(Run("dispatch", plan, time.perf_counter() - began))
        for limit in limits:
            began = time.perf_counter()
            plan = solve(
                day, "cpsat", time_limit=limit, workers=args.workers, seed=args.solver_seed
            )
            runs.append(
                Run(f"cpsat {limit:g}s", checked(day, plan, name), time.perf_counter() - began)
            )
        for run in runs:
            cache.offer(key, run.plan, run.method)
        best = cache.objective(key)
        assert best is not None
        last = runs[-1].plan
        fcfs, dispatch = runs[0].plan, runs[1].plan
        row: dict[str, float] = {"best": float(best)}
        for run in runs:
            p, k = run.plan, run.plan.kpis
            row[f"{run.method} objective"] = float(p.objective)
            row[f"{run.method} weighted wait"] = float(p.parts.weighted_wait)
            row[f"{run.method} left out"] = len(p.unscheduled)
            row[f"{run.method} waiter mean"] = float(k["waiter_mean_wait"])
            row[f"{run.method} waiter p90"] = float(k["waiter_p90_wait"])
            row[f"{run.method} on time"] = float(k["dropoff_on_time_share"])
            row[f"{run.method} seconds"] = run.seconds
            row[f"{run.method} bound"] = float(p.lower_bound)
            row[f"{run.method} gap"] = p.gap
            row[f"{run.method} to best"] = float(p.objective / best - 1) if best else 0.0
            row[f"{run.method} vs fcfs"] = (
                float(1 - p.objective / fcfs.objective) if fcfs.objective else 0.0
            )
            row[f"{run.method} ww vs fcfs"] = (
                float(1 - p.parts.weighted_wait / fcfs.parts.weighted_wait)
                if fcfs.parts.weighted_wait
                else 0.0
            )
            # fcfs leaves more bookings out on a rush day, and a booking left out has no wait:
            # compare the waits of the bookings both plans place.
            both = p.scheduled_bookings() & fcfs.scheduled_bookings()
            mine, theirs = weighted_wait_of(day, p, both), weighted_wait_of(day, fcfs, both)
            row[f"{run.method} common ww vs fcfs"] = float(1 - mine / theirs) if theirs else 0.0
            row[f"{run.method} worse than dispatch"] = float(
                p.objective > dispatch.objective or len(p.unscheduled) > len(dispatch.unscheduled)
            )
        rows[kind].append(row)
        detail.add_row(
            name,
            *(f"{float(r.plan.objective):.0f} ({len(r.plan.unscheduled)})" for r in runs),
            f"{float(best):.0f}",
            f"{float(last.lower_bound):.0f}",
            f"{last.gap:.1%}",
            f"{row[f'{runs[-1].method} to best']:.2%}",
        )
        console.print(f"{name}: done", style="dim")
    console.print(detail)

    summary = Table(title="Medians over the days of each kind (ratios within the same run)")
    summary.add_column("kind")
    summary.add_column("method")
    for column in [
        "objective",
        "weighted wait",
        "left out",
        "waiter mean",
        "waiter p90",
        "drop-off on time",
        "bound",
        "gap proven",
        "to best known (median / max)",
        "objective vs fcfs",
        "w. wait vs fcfs",
        "w. wait vs fcfs, both placed",
        "worse than dispatch",
        "time s",
    ]:
        summary.add_column(column, justify="right")
    for kind, kind_rows in rows.items():
        if not kind_rows:
            continue
        for method in methods:

            def m(
                field: str, method: str = method, kind_rows: list[dict[str, float]] = kind_rows
            ) -> float:
                return median([r[f"{method} {field}"] for r in kind_rows])

            to_best = [r[f"{method} to best"] for r in kind_rows]
            summary.add_row(
                kind,
                method,
                f"{m('objective'):.0f}",
                f"{m('weighted wait'):.0f}",
                f"{m('left out'):.1f}",
                f"{m('waiter mean'):.1f}",
                f"{m('waiter p90'):.1f}",
                f"{m('on time'):.1%}",
                f"{m('bound'):.0f}",
                f"{m('gap'):.1%}",
                f"{median(to_best):.2%} / {max(to_best):.2%}",
                f"{m('vs fcfs'):.1%}",
                f"{m('ww vs fcfs'):.1%}",
                f"{m('common ww vs fcfs'):.1%}",
                f"{sum(r[f'{method} worse than dispatch'] for r in kind_rows):.0f}",
                f"{m('seconds'):.1f}",
            )
    console.print(summary)


if __name__ == "__main__":
    main()
