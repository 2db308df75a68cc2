"""Does the simulation reproduce queueing theory? A validation table and a coverage study.

Run:  .venv/bin/python benchmarks/queue_validation.py            (table, then coverage)
      .venv/bin/python benchmarks/queue_validation.py --no-coverage
      .venv/bin/python benchmarks/queue_validation.py --no-table --seeds 100 --coverage-scale 1
          (the coverage study as reported: 6,000 intervals, about 30 minutes on two cores)

Part 1, the table: for each textbook case (M/M/1 at rho 0.5, 0.8, 0.9; M/M/c with c = 2, 4, 8
at rho 0.8; M/G/1 at rho 0.8 with service CV 0, 0.5, 2; two-class non-preemptive priority M/M/1
and M/M/2 at rho 0.8, 30% of the cars in the high class) it prints the analytic value of each
measure, the simulated mean and 95% interval over ``--replications`` replications, the
half-width relative to the mean, the full width relative to the analytic value, and whether the
analytic value lies inside. The run length is :func:`simulation.textbook.default_run_length`
with the observation window stretched by ``--scale``.

Part 2, coverage: one 95% interval is right 95% of the time at best; whether it really is
depends on initialisation bias (too short a warm-up), on non-normal replication means (too
short a run) and on ratio-estimator bias. So each case is repeated with ``--seeds`` independent
seeds, each with ``--coverage-replications`` replications of ``--coverage-scale`` times the
default window, and the fraction of intervals that contain the analytic value is reported per
measure, with a 95% Wilson interval for that fraction and the mean relative bias of the
estimates. Everything runs through :class:`simulation.experiments.ReplicationRunner` (a local
process pool on all cores).
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from simulation.experiments import Measures, ReplicationRunner
from simulation.queueing import QueueMetrics
from simulation.stats import Interval, summarise
from simulation.textbook import (
    MEASURES,
    QueueReplication,
    TextbookQueue,
    default_run_length,
    run_queue,
)


@dataclass(frozen=True, slots=True)
class Case:
    """One validation case."""

    name: str
    queue: TextbookQueue


def _q(lam: float, c: int, cv: float = 1.0, shares: tuple[float, ...] = (1.0,)) -> TextbookQueue:
    return TextbookQueue(lam, 1.0, c, cv, shares)


CASES = [
    Case("M/M/1 rho .5", _q(0.5, 1)),
    Case("M/M/1 rho .8", _q(0.8, 1)),
    Case("M/M/1 rho .9", _q(0.9, 1)),
    Case("M/M/2 rho .8", _q(1.6, 2)),
    Case("M/M/4 rho .8", _q(3.2, 4)),
    Case("M/M/8 rho .8", _q(6.4, 8)),
    Case("M/G/1 cv 0 rho .8", _q(0.8, 1, 0.0)),
    Case("M/G/1 cv .5 rho .8", _q(0.8, 1, 0.5)),
    Case("M/G/1 cv 2 rho .8", _q(0.8, 1, 2.0)),
    Case("prio M/M/1 rho .8", _q(0.8, 1, 1.0, (0.3, 0.7))),
    Case("prio M/M/2 rho .8", _q(1.6, 2, 1.0, (0.3, 0.7))),
]


def run_length(queue: TextbookQueue, scale: float) -> tuple[float, float]:
    """The default warm-up, and the default observation window times ``scale``."""
    horizon, warmup = default_run_length(queue)
    return warmup + scale * (horizon - warmup), warmup


def analytic_values(metrics: QueueMetrics) -> dict[str, float]:
    """Analytic values under the keys a replication row uses (``"Wq"``, ``"Wq[0]"``, ...)."""
    out = {m: getattr(metrics, m) for m in MEASURES}
    for k, cls in enumerate(metrics.classes):
        out.update({f"{m}[{k}]": getattr(cls, m) for m in MEASURES})
    return out


def label(key: str) -> str:
    """``"Wq[1]"`` -> ``"Wq class 2"`` (classes are numbered from 1 for people)."""
    if "[" not in key:
        return key
    name, k = key.rstrip("]").split("[")
    return f"{name} class {int(k) + 1}"


# --- part 1: the table -------------------------------------------------------------------------


def table(replications: int, scale: float, seed: int, workers: int | None) -> None:
    """Print analytic value, simulated mean and 95% interval for every case and measure."""
    print(
        f"Validation table: {replications} replications per case, default warm-up, "
        f"observation window {scale:g} x default, seeds {seed}.. (one per case)"
    )
    head = (
        f"{'case':<19}{'measure':<12}{'analytic':>9}{'simulated':>10}  {'95% interval':<19}"
        f"{'half/mean':>9}{'width/value':>12}{'inside':>7}{'cars/rep':>10}"
    )
    print(head)
    print("-" * len(head))
    worst_half = worst_width = 0.0
    inside = total = 0
    for number, case in enumerate(CASES):
        q = case.queue
        horizon, warmup = run_length(q, scale)
        start = time.perf_counter()
        # A seed per case: with one seed for all, every case would reuse the same random
        # numbers (common random numbers), and one unlucky stream would move them all together.
        report = run_queue(
            q.arrival_rate,
            q.service_rate,
            q.servers,
            service_cv=q.service_cv,
            class_shares=q.class_shares if q.classes > 1 else None,
            replications=replications,
            horizon=horizon,
            warmup=warmup,
            seed=seed + number,
            workers=workers,
        )
        elapsed = time.perf_counter() - start
        assert report.analytic is not None
        exact = analytic_values(report.analytic)
        intervals: dict[str, Interval] = dict(report.simulated)
        for k, per in enumerate(report.simulated_classes):
            intervals.update({f"{m}[{k}]": iv for m, iv in per.items()})
        cars = report.customers // replications
        for key, iv in intervals.items():
            value = exact[key]
            ok = iv.contains(value)
            width = (iv.high - iv.low) / value
            inside += ok
            total += 1
            if q.utilisation <= 0.8 + 1e-9:
                worst_half = max(worst_half, iv.relative_half_width)
                worst_width = max(worst_width, width)
            print(
                f"{case.name:<19}{label(key):<12}{value:>9.4f}{iv.mean:>10.4f}  "
                f"[{iv.low:>7.4f}, {iv.high:>7.4f}] {iv.relative_half_width:>8.2%}"
                f"{width:>12.2%}{'yes' if ok else 'NO':>7}{cars:>10,}"
            )
        print(f"{'':<19}({elapsed:.1f} s, {report.customers / elapsed:,.0f} cars/s)")
    print(
        f"analytic value inside its interval: {inside} of {total}; at rho <= 0.8 the widest "
        f"interval has half-width {worst_half:.2%} of its mean and full width {worst_width:.2%} "
        "of the analytic value"
    )


# --- part 2: coverage --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeededReplications:
    """Replication ``i`` of seed ``i // per_seed``: many independent experiments in one job."""

    replicate: QueueReplication
    per_seed: int
    first_seed: int

    def __call__(self, index: int) -> Measures:
        seed, rep = divmod(index, self.per_seed)
        one = QueueReplication(
            self.replicate.queue,
            horizon=self.replicate.horizon,
            warmup=self.replicate.warmup,
            seed=self.first_seed + seed,
        )
        return one(rep)


def wilson(hits: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval for a proportion ``hits / n``."""
    z = 1.959963984540054
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def coverage(
    seeds: int, replications: int, scale: float, first_seed: int, workers: int | None
) -> None:
    """Print, per case and measure, how often the 95% interval contains the analytic value."""
    print(
        f"\nCoverage study: {seeds} seeds per case, each {replications} replications of "
        f"{scale:g} x the default observation window (default warm-up); seeds from {first_seed},"
        " different for every case"
    )
    head = (
        f"{'case':<19}{'measure':<12}{'covered':>9}{'coverage':>10}  {'95% interval':<16}"
        f"{'mean bias':>10}{'half/mean':>10}"
    )
    print(head)
    print("-" * len(head))
    all_hits = all_n = 0
    overall_hits = overall_n = 0
    for number, case in enumerate(CASES):
        q = case.queue
        horizon, warmup = run_length(q, scale)
        metrics = q.analytic()
        assert metrics is not None
        exact = analytic_values(metrics)
        # Seeds first_seed + number * seeds + (0 .. seeds - 1): no two cases share a seed.
        case_seed = first_seed + number * seeds
        job = SeededReplications(QueueReplication(q, horizon, warmup), replications, case_seed)
        start = time.perf_counter()
        with ReplicationRunner(job, workers=workers) as runner:
            rows = runner.run(range(seeds * replications))
        elapsed = time.perf_counter() - start
        per_seed: list[dict[str, Interval]] = [
            summarise(rows[s * replications : (s + 1) * replications], list(exact))
            for s in range(seeds)
        ]
        for key, value in exact.items():
            hits = sum(ivs[key].contains(value) for ivs in per_seed)
            low, high = wilson(hits, seeds)
            bias = sum(ivs[key].mean for ivs in per_seed) / seeds / value - 1
            half = sum(ivs[key].relative_half_width for ivs in per_seed) / seeds
            all_hits += hits
            all_n += seeds
            if "[" not in key:
                overall_hits += hits
                overall_n += seeds
            print(
                f"{case.name:<19}{label(key):<12}{hits:>5}/{seeds:<3}{hits / seeds:>10.1%}  "
                f"[{low:.1%}, {high:.1%}]   {bias:>+8.2%}{half:>10.2%}"
            )
        cars = sum(row["customers"] for row in rows)
        print(f"{'':<19}({elapsed:.1f} s, {cars / elapsed:,.0f} cars/s)")
    low, high = wilson(all_hits, all_n)
    print(
        f"pooled coverage, all {all_n} intervals: {all_hits / all_n:.1%} "
        f"(95% Wilson [{low:.1%}, {high:.1%}]; intervals of one seed are correlated, so the "
        "true uncertainty is wider)"
    )
    print(
        f"pooled coverage of the overall measures ({overall_n} intervals): "
        f"{overall_hits / overall_n:.1%}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Print the validation table and the coverage study."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=30, help="per case in the table")
    parser.add_argument("--scale", type=float, default=3.0, help="window x default, table")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first case, table")
    parser.add_argument("--seeds", type=int, default=40, help="seeds per case, coverage")
    parser.add_argument("--coverage-replications", type=int, default=10)
    parser.add_argument("--coverage-scale", type=float, default=0.25)
    parser.add_argument("--first-seed", type=int, default=1000, help="first coverage seed")
    parser.add_argument("--workers", type=int, default=None, help="local processes (all cores)")
    parser.add_argument("--cases", default="", help="only cases whose name contains this")
    parser.add_argument("--no-table", action="store_true")
    parser.add_argument("--no-coverage", action="store_true")
    args = parser.parse_args(argv)
    CASES[:] = [case for case in CASES if args.cases in case.name]
    start = time.perf_counter()
    if not args.no_table:
        table(args.replications, args.scale, args.seed, args.workers)
    if not args.no_coverage:
        coverage(
            args.seeds,
            args.coverage_replications,
            args.coverage_scale,
            args.first_seed,
            args.workers,
        )
    print(f"\ntotal wall time {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
