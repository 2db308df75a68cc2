"""Speed and precision of a what-if: 200 paired replications of the city-dealer day.

Run:  .venv/bin/python benchmarks/whatif_speed.py [--scenario one-more-technician]
      [--replications 200] [--workers 2] [--seed 0] [--all]

The issue's bar: a what-if of 200 paired replications of the city-dealer day (50 bookings,
nine technicians, ten bays, with walk-ins, no-shows, late and early arrivals, lognormal
durations and late deliveries) finishes in under a minute on two cores. The script runs the
named scenario from ``scenarios/whatif/`` exactly as ``workshop whatif`` does (a local process
pool) and prints:

- the wall time, paired replications per second, the load average of the machine, and the
  CPU seconds used by this process and its pool workers divided by the number of workers: the
  wall time the run would take on idle cores (other work on a shared two-core machine
  stretches the wall time, not the CPU time);
- for each key figure, the base and variant means, the paired difference, and the 95%
  half-width of the difference *paired* (common random numbers, what the command reports) and
  *unpaired* (Welch, the same runs with the pairing ignored, as if base and variant had been
  simulated with independent random numbers), and the ratio of their squares: how many times
  as many replications the unpaired comparison would need for the same precision.

``--all`` runs every city-dealer scenario one after another.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import time
from pathlib import Path

from simulation.experiments import default_workers
from simulation.outcomes import KPI_LABELS
from simulation.scenario import load_scenario
from simulation.whatif import WhatIfResult, run_whatif

WHATIF = Path(__file__).resolve().parents[1] / "scenarios" / "whatif"


def _fmt(x: float) -> str:
    size = abs(x)
    places = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3
    return f"{x:.{places}f}"


def cpu_seconds() -> float:
    """User and system CPU seconds of this process and its finished children (pool workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def report(result: WhatIfResult, workers: int, cpu: float) -> None:
    """Print the timing line and the paired-vs-unpaired table of one run."""
    s = result.scenario
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    print(
        f"\n{s.name}: {result.replications} paired replications of {s.base.day.workshop.id} "
        f"({len(s.base.day.bookings)} bookings; variant: {'; '.join(s.changes)})"
    )
    print(
        f"wall time {result.seconds:.1f} s on {workers} worker(s) "
        f"({result.replications / result.seconds:.1f} paired replications/s), "
        f"load average {load:.1f}; CPU {cpu:.1f} s = {cpu / workers:.1f} s per core; "
        f"re-plans per day base "
        f"{result.mean_of('base:replans'):.1f} / variant {result.mean_of('variant:replans'):.1f}"
    )
    header = (
        f"{'key figure':<28}{'base':>9}{'variant':>9}{'diff':>9}"
        f"{'hw paired':>11}{'hw unpaired':>13}{'ratio^2':>9}"
    )
    print(header)
    print("-" * len(header))
    for c in result.comparisons:
        ratio = c.variance_reduction
        print(
            f"{KPI_LABELS[c.kpi]:<28}{_fmt(c.base.mean):>9}{_fmt(c.variant.mean):>9}"
            f"{_fmt(c.difference.mean):>9}{_fmt(c.difference.half_width):>11}"
            f"{_fmt(c.unpaired.half_width):>13}"
            f"{('inf' if math.isinf(ratio) else f'{ratio:.1f}'):>9}"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="one-more-technician")
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all", action="store_true", help="every city-dealer scenario")
    args = parser.parse_args(argv)
    names = [args.scenario]
    if args.all:
        names = sorted(
            p.stem
            for p in WHATIF.glob("*.yaml")
            if load_scenario(p).base.day.workshop.id == "city-motors"
        )
    slowest = 0.0
    for name in names:
        scenario = load_scenario(WHATIF / f"{name}.yaml")
        began, cpu = time.perf_counter(), cpu_seconds()
        result = run_whatif(
            scenario, replications=args.replications, seed=args.seed, workers=args.workers
        )
        slowest = max(slowest, time.perf_counter() - began)
        report(result, args.workers, cpu_seconds() - cpu)
    print(f"\nslowest what-if: {slowest:.1f} s wall (target: under 60 s on 2 cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
