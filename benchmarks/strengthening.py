"""Which model strengthenings pay off: each one switched off in turn, on the same days.

Runs ``improve`` from the best dispatch plan with the default strengthenings, with all four
on, with all on but one at a time (tight start windows, redundant cumulatives per skill and bay
kind, the parts knapsack row, symmetry breaking between identical technicians and bays), with
none, and with CP-SAT's default presolve probing instead of ours
(``cp_model_probing_level: 0``). Prints per variant the
median objective relative to the default variant on each day (same run), the median proven gap,
how many days were solved to proven optimality, and the median time to the final plan.

    python benchmarks/strengthening.py [--kinds medium,rush] [--seeds 10] [--limit 10]
        [--neighbourhood auto|on|off]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.generate import generate_day_object
from scheduler.checker import check_plan
from scheduler.cpsat import Strengthening, improve
from scheduler.plan import PlanStatus
from scheduler.solve import Progress, best_dispatch_plan

KINDS = {"medium": ("medium", False), "large": ("large", False), "rush": ("medium", True)}
DEFAULT = Strengthening()
ALL = Strengthening(True, True, True, True)
VARIANTS: dict[str, tuple[Strengthening, dict[str, object]]] = {
    "default": (DEFAULT, {}),
    "all on": (ALL, {}),
    "all on but tight windows": (replace(ALL, tight_windows=False), {}),
    "all on but redundant cumulatives": (replace(ALL, redundant_cumulatives=False), {}),
    "all on but parts knapsack": (replace(ALL, parts_knapsack=False), {}),
    "all on but symmetry breaking": (replace(ALL, symmetry_breaking=False), {}),
    "none of the four": (Strengthening(False, False, False, False), {}),
    "default, CP-SAT default probing": (DEFAULT, {"cp_model_probing_level": 2}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", default="medium,rush")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--limit", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--neighbourhood", choices=["auto", "on", "off"], default="auto")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    neighbourhood = {"auto": None, "on": True, "off": False}[args.neighbourhood]
    console = Console(width=180)
    variants = args.variants.split(",")
    for kind in args.kinds.split(","):
        size, rush = KINDS[kind]
        stats: dict[str, dict[str, list[float]]] = {
            v: {"ratio": [], "gap": [], "optimal": [], "last": []} for v in variants
        }
        for seed in range(args.seeds):
            day = generate_day_object(size, seed, rush=rush)
            start = best_dispatch_plan(day)
            objectives: dict[str, float] = {}
            for name in variants:
                options, parameters = VARIANTS[name]
                seen: list[Progress] = []
                plan = improve(
                    day,
                    start,
                    time_limit=args.limit,
                    workers=args.workers,
                    strengthening=options,
                    parameters=parameters,
                    neighbourhood=neighbourhood,
                    on_progress=seen.append,
                )
                if check_plan(day, plan):
                    raise SystemExit(f"{kind} {seed} {name}: invalid plan")
                objectives[name] = float(plan.objective)
                stats[name]["gap"].append(plan.gap)
                stats[name]["optimal"].append(float(plan.status == PlanStatus.OPTIMAL))
                stats[name]["last"].append(seen[-1].seconds if seen else 0.0)
            base = objectives[variants[0]]
            for name in variants:
                stats[name]["ratio"].append(objectives[name] / base - 1 if base else 0.0)
            console.print(f"{kind} {seed}: done", style="dim")
        table = Table(title=f"{kind}: {args.seeds} days, {args.limit:g}s, {args.workers} workers")
        for column in [
            "variant",
            "objective vs first (median)",
            "(mean)",
            "proven gap (median)",
            "proven optimal",
            "last improvement s (median)",
        ]:
            table.add_column(column, justify="right")
        for name in variants:
            s = stats[name]
            table.add_row(
                name,
                f"{statistics.median(s['ratio']):+.2%}",
                f"{statistics.mean(s['ratio']):+.2%}",
                f"{statistics.median(s['gap']):.1%}",
                f"{sum(s['optimal']):.0f}/{len(s['optimal'])}",
                f"{statistics.median(s['last']):.1f}",
            )
        console.print(table)


if __name__ == "__main__":
    main()
