"""Classic job shops (ft10, la16-20, la36-40, ta01-05) in makespan mode (issue 3, table 3).

Reads ``benchmarks/data/jssp/selected_jssp.json`` (see its SOURCE.md; every instance there has a
proven optimum) and prints the same table as ``benchmarks/brandimarte.py``: median makespan over
seeds, CP-SAT's bound and the gap to the optimum, and the mean gap per time limit.

With ``--via-day`` each instance instead goes through the planner's public entry point: it
becomes a workshop day (machine m is technician ``M<m>`` with skill ``m<m>`` working 00:00-24:00
and a bay of kind ``m<m>``; job j is a drop-off booking whose services are its operations in
order), the fcfs dispatch plan is the start, and ``improve(..., objective="makespan")`` plans it;
every plan passes the plan checker. A job shop's times are machine-independent, so the domain
model carries it exactly (unlike Brandimarte's flexible shops).

    python benchmarks/jobshop.py [--instances ft10,la16,...] [--limits 10] [--seeds 3]
        [--workers 2] [--peer] [--via-day]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.brandimarte import FlexibleJobShop, run_table
from scheduler.checker import check_plan
from scheduler.cpsat import improve
from scheduler.domain import Bay, Booking, Day, Operation, Service, Technician, Workshop
from scheduler.solve import dispatch_plan

DATA = Path(__file__).resolve().parent / "data" / "jssp"
CLASSIC = ["ft10", *(f"la{i}" for i in range(16, 21)), *(f"la{i}" for i in range(36, 41))]
CLASSIC += [f"ta{i:02d}" for i in range(1, 6)]


def read_jssp(name: str) -> tuple[FlexibleJobShop, int]:
    """An instance as a (single-mode) flexible job shop, and its proven optimal makespan."""
    data = json.loads((DATA / "selected_jssp.json").read_text())["instances"][name]
    jobs = tuple(tuple({m: d} for m, d in ops) for ops in data["jobs"])
    machines = 1 + max(m for ops in data["jobs"] for m, _ in ops)
    return FlexibleJobShop(name, machines, jobs), int(data["optimum"])


def to_day(instance: FlexibleJobShop) -> Day:
    """The job shop as a workshop day (see the module docstring)."""
    techs = tuple(
        Technician(f"M{m}", f"machine {m}", frozenset({f"m{m}"}), (0, 24 * 60))
        for m in range(instance.machines)
    )
    bays = tuple(Bay(f"B{m}", frozenset({f"m{m}"})) for m in range(instance.machines))
    services: dict[str, Service] = {}
    bookings = []
    for j, ops in enumerate(instance.jobs):
        codes = []
        for k, op in enumerate(ops):
            ((m, d),) = op.items()
            code = f"J{j}.{k}"
            services[code] = Service(code, code, (Operation(f"m{m}", f"m{m}", d),))
            codes.append(code)
        bookings.append(Booking(f"J{j}", tuple(codes), 0))
    workshop = Workshop(instance.name, instance.name, "UTC", 0, 24 * 60, bays, techs, services)
    return Day(workshop, dt.date(2026, 1, 1), tuple(bookings))


def run_via_day(
    console: Console,
    names: list[str],
    limits: list[float],
    seeds: int,
    workers: int,
) -> None:
    """Plan each instance as a day through ``improve`` in makespan mode."""
    table = Table(title=f"Job shops as workshop days, makespan mode, median of {seeds} seeds")
    table.add_column("instance")
    table.add_column("optimum", justify="right")
    for limit in limits:
        table.add_column(f"{limit:g}s: makespan / bound / gap / left out", justify="right")
    gaps: dict[float, list[float]] = {t: [] for t in limits}
    for name in names:
        instance, optimum = read_jssp(name)
        day = to_day(instance)
        start = dispatch_plan(day, "fcfs")
        cells = []
        for limit in limits:
            spans, bounds, left_out = [], [], []
            for seed in range(seeds):
                plan = improve(
                    day, start, time_limit=limit, workers=workers, seed=seed, objective="makespan"
                )
                violations = check_plan(day, plan)
                if violations:
                    raise SystemExit(f"{name}: invalid plan: {violations[0]}")
                spans.append(plan.kpis["makespan"])
                bounds.append(plan.kpis["makespan_lower_bound"])
                left_out.append(len(plan.unscheduled))
            span = statistics.median(spans)
            gaps[limit].append(span / optimum - 1)
            cells.append(
                f"{span:g} / {statistics.median(bounds):g} / {span / optimum - 1:.1%} / "
                f"{max(left_out)}"
            )
        table.add_row(name, str(optimum), *cells)
        console.print(f"{name}: done", style="dim")
    table.add_row("mean gap", "", *(f"{statistics.mean(gaps[t]):.2%}" for t in limits))
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default=",".join(CLASSIC))
    parser.add_argument("--limits", default="10")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--peer", action="store_true", help="also run PyJobShop")
    parser.add_argument("--via-day", action="store_true", help="plan each as a workshop day")
    args = parser.parse_args()
    names = args.instances.split(",")
    limits = [float(x) for x in args.limits.split(",")]
    console = Console(width=200)
    if args.via_day:
        run_via_day(console, names, limits, args.seeds, args.workers)
        return
    loaded = [read_jssp(name) for name in names]
    run_table(
        console,
        f"Classic job shops, makespan mode, {args.workers} workers, median of {args.seeds} seeds",
        [instance for instance, _ in loaded],
        {instance.name: (optimum, optimum) for instance, optimum in loaded},
        limits,
        args.seeds,
        args.workers,
        args.peer,
    )


if __name__ == "__main__":
    main()
