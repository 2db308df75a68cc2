"""The what-if experiment: base against variant, replication by replication, with intervals.

A manager asks "what if we add a technician?" and deserves an answer with its uncertainty,
not one lucky day. Each replication simulates the same day twice, once as the base and once
as the variant, *with the same luck* (common random numbers: the same cars come late, the same
jobs overrun, see :mod:`simulation.uncertainty`), and records the difference of every key
figure. Over many replications the paired differences give Student-t intervals far narrower
than comparing two independent samples would (:func:`simulation.stats.paired_difference`);
:class:`KpiComparison` keeps the unpaired interval too, so the gain is visible.

Replications run on a local process pool by default, or on a Dask cluster, through
:class:`simulation.experiments.ReplicationRunner` (the same code path). With a precision
target, replications are added until the intervals of the watched differences are narrow
enough (the sequential procedure of Law 2015, sec. 9.4.1).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from scheduler.plan import Assignment
from scheduler.solve import solve
from simulation.daydata import DayData, day_from_data, day_to_data
from simulation.experiments import Measures, ReplicationRunner
from simulation.model import SimulatedDay, simulate_day
from simulation.outcomes import KPI_LABELS, KPIS
from simulation.policies import QueuePolicy, make_policy
from simulation.replan import Replanner
from simulation.scenario import PolicySpec, Scenario, Side
from simulation.stats import Interval, paired_difference, t_interval
from simulation.uncertainty import Uncertainty

DEFAULT_REPLICATIONS = 30
"""Replications when neither the command line nor the scenario says."""

ProgressCallback = Callable[[int, int], None]
"""``on_progress(done, total)`` after each replication (``total`` may grow with precision)."""


def build_policy(spec: PolicySpec, plan: Sequence[Assignment] | None = None) -> QueuePolicy:
    """A fresh queue policy from its scenario description (and the plan, for follow-plan)."""
    if spec.name == "follow-plan":
        replanner = (
            None
            if spec.replan is None
            else Replanner(spec.replan, time_limit=spec.replan_time_limit)
        )
        return make_policy(spec.name, plan=plan, replanner=replanner, threshold=spec.threshold)
    if spec.name == "express-lane":
        return make_policy(
            spec.name,
            max_minutes=spec.max_minutes,
            technicians=spec.technicians,
            bays=spec.bays,
        )
    return make_policy(spec.name)


def prepare_plan(side: Side, *, seed: int = 0) -> tuple[Assignment, ...] | None:
    """The plan a follow-plan side works to, made once before any replication (the evening
    before, from the booked day); ``None`` for the other policies."""
    spec = side.policy
    if spec.name != "follow-plan":
        return None
    plan = solve(side.day, spec.plan_method, time_limit=spec.plan_time_limit, seed=seed)
    return plan.assignments


@lru_cache(maxsize=8)
def _day(data: DayData) -> Any:
    """Rebuild a day once per process, not once per replication."""
    return day_from_data(data)


class SideRun:
    """One side of a what-if, ready to simulate any replication (picklable).

    Parameters
    ----------
    side
        The day, policy and randomness.
    plan
        The follow-plan policy's plan, from :func:`prepare_plan`.
    """

    def __init__(self, side: Side, plan: Sequence[Assignment] | None = None) -> None:
        self.side = side
        self.plan = None if plan is None else tuple(plan)

    def simulate(self, seed: int, replication: int) -> SimulatedDay:
        """Simulate replication ``replication`` of this side."""
        policy = build_policy(self.side.policy, self.plan)
        return simulate_day(
            self.side.day,
            policy,
            self.side.uncertainty,
            seed=seed,
            replication=replication,
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Days hold read-only mapping views that cannot be pickled: send them as plain data.
        s = self.side
        return (_side_run, (day_to_data(s.day), s.policy, s.uncertainty, self.plan))


def _side_run(
    data: DayData,
    policy: PolicySpec,
    uncertainty: Uncertainty,
    plan: tuple[Assignment, ...] | None,
) -> SideRun:
    return SideRun(Side(_day(data), policy, uncertainty), plan)


@dataclass(frozen=True, slots=True)
class PairedReplication:
    """Replication ``index`` of base and variant with the same random numbers (picklable).

    Calling it returns, for every key figure ``k``, ``base:k``, ``variant:k`` and
    ``diff:k = variant:k - base:k``, plus ``base:replans``, ``variant:replans``,
    ``base:walk_ins`` and ``base:no_shows`` for the record.
    """

    base: SideRun
    variant: SideRun
    seed: int

    def __call__(self, index: int) -> dict[str, float]:
        base = self.base.simulate(self.seed, index)
        variant = self.variant.simulate(self.seed, index)
        b, v = base.kpis(), variant.kpis()
        row: dict[str, float] = {}
        for k in KPIS:
            row[f"base:{k}"] = b[k]
            row[f"variant:{k}"] = v[k]
            row[f"diff:{k}"] = v[k] - b[k]
        row["base:replans"] = float(base.replans)
        row["variant:replans"] = float(variant.replans)
        row["base:walk_ins"] = float(sum(1 for c in base.cars if c.walk_in))
        row["base:no_shows"] = float(sum(1 for c in base.cars if c.no_show))
        return row


def unpaired_difference(
    variant: Sequence[float], base: Sequence[float], confidence: float = 0.95
) -> Interval:
    """Welch's interval for ``E[variant] - E[base]`` treating the samples as independent.

    What the comparison would cost without common random numbers (the same data, the pairing
    ignored): shown beside the paired interval to measure the variance reduction.

    Parameters
    ----------
    variant, base
        One value per replication each (at least two each).
    confidence
        Two-sided confidence level; 0.95 by default.

    Returns
    -------
    Interval
        Mean difference with Welch's t interval (Welch-Satterthwaite degrees of freedom).
    """
    v = np.asarray(variant, dtype=float)
    b = np.asarray(base, dtype=float)
    if v.size < 2 or b.size < 2:
        raise ValueError("an unpaired interval needs at least 2 replications on each side")
    diff = float(v.mean() - b.mean())
    var_v, var_b = float(v.var(ddof=1)) / v.size, float(b.var(ddof=1)) / b.size
    se2 = var_v + var_b
    n = int(min(v.size, b.size))
    if se2 == 0 or not math.isfinite(se2):
        return Interval(diff, diff, diff, n, confidence)
    dof = se2 * se2 / (var_v * var_v / (v.size - 1) + var_b * var_b / (b.size - 1))
    half = float(scipy_stats.t.ppf(0.5 + confidence / 2, dof)) * math.sqrt(se2)
    return Interval(diff, diff - half, diff + half, n, confidence)


@dataclass(frozen=True, slots=True)
class KpiComparison:
    """One key figure, base against variant.

    Parameters
    ----------
    kpi
        Its name (:data:`simulation.outcomes.KPIS`).
    base, variant
        Mean and 95% interval of each side over the replications.
    difference
        Paired difference ``variant - base`` with its 95% interval (common random numbers).
    unpaired
        The interval the same data would give unpaired (Welch), for comparison.
    """

    kpi: str
    base: Interval
    variant: Interval
    difference: Interval
    unpaired: Interval

    @property
    def significant(self) -> bool:
        """Whether the 95% interval of the difference excludes 0."""
        d = self.difference
        return math.isfinite(d.low) and (d.low > 0 or d.high < 0)

    @property
    def variance_reduction(self) -> float:
        """Unpaired over paired half-width, squared: how many times fewer replications the
        pairing needs for the same precision (``inf`` when the paired width is 0)."""
        paired = self.difference.half_width
        if paired == 0:
            return math.inf if self.unpaired.half_width > 0 else 1.0
        return (self.unpaired.half_width / paired) ** 2

    def to_json(self) -> dict[str, Any]:
        """``{"label", "base", "variant", "difference", "significant", "unpaired"}``; each
        interval as ``{"mean": x, "ci95": [lo, hi]}``."""
        return {
            "label": KPI_LABELS[self.kpi],
            "base": self.base.to_json(),
            "variant": self.variant.to_json(),
            "difference": self.difference.to_json(),
            "significant": self.significant,
            "unpaired": self.unpaired.to_json(),
        }


def compare(rows: Sequence[Measures], kpis: Sequence[str] = KPIS) -> tuple[KpiComparison, ...]:
    """Turn replication rows (from :class:`PairedReplication`) into comparisons."""
    out = []
    for k in kpis:
        base = [row[f"base:{k}"] for row in rows]
        variant = [row[f"variant:{k}"] for row in rows]
        out.append(
            KpiComparison(
                k,
                t_interval(base),
                t_interval(variant),
                paired_difference(variant, base),
                unpaired_difference(variant, base),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Precision:
    """A precision target and whether it was met.

    Parameters
    ----------
    target
        Largest half-width allowed for each watched difference, as a share of the base mean.
    kpis
        The watched key figures.
    reached
        Whether every watched interval met it before the replication limit.
    """

    target: float
    kpis: tuple[str, ...]
    reached: bool


@dataclass(frozen=True, slots=True)
class WhatIfResult:
    """The answer to a what-if question.

    Parameters
    ----------
    scenario
        The scenario run.
    seed
        Experiment seed (the same seed gives the same result).
    rows
        Every replication's measures, in replication order.
    comparisons
        One :class:`KpiComparison` per key figure, in :data:`KPIS` order.
    seconds
        Wall-clock time of the replications (the plans made before them included).
    precision
        The precision target and whether it was met, if one was set.
    """

    scenario: Scenario
    seed: int
    rows: tuple[Measures, ...]
    comparisons: tuple[KpiComparison, ...]
    seconds: float
    precision: Precision | None = None

    @property
    def replications(self) -> int:
        """Paired replications behind the intervals."""
        return len(self.rows)

    def comparison(self, kpi: str) -> KpiComparison:
        """The comparison of one key figure."""
        for c in self.comparisons:
            if c.kpi == kpi:
                return c
        raise KeyError(kpi)

    def mean_of(self, measure: str) -> float:
        """Mean of a recorded measure over the replications (``base:replans`` ...)."""
        return float(np.mean([row[measure] for row in self.rows]))

    def to_json(self) -> dict[str, Any]:
        """The ``workshop whatif --json`` document."""
        s = self.scenario
        return {
            "scenario": s.name,
            "description": s.description,
            "base": {
                "day": s.base.day.workshop.id,
                "date": s.base.day.date.isoformat(),
                "bookings": len(s.base.day.bookings),
                "policy": s.base.policy.describe(),
            },
            "variant": {
                "bookings": len(s.variant.day.bookings),
                "policy": s.variant.policy.describe(),
                "changes": list(s.changes),
            },
            "replications": self.replications,
            "seed": self.seed,
            "confidence": 0.95,
            "kpis": {c.kpi: c.to_json() for c in self.comparisons},
            "precision": None
            if self.precision is None
            else {
                "target": self.precision.target,
                "kpis": list(self.precision.kpis),
                "reached": self.precision.reached,
            },
            "replans": {
                "base": self.mean_of("base:replans"),
                "variant": self.mean_of("variant:replans"),
            },
            "seconds": round(self.seconds, 3),
        }


def _shortfall(rows: Sequence[Measures], kpis: Sequence[str], target: float) -> float:
    """Largest ratio of a watched difference's half-width to its allowed half-width."""
    worst = 0.0
    for k in kpis:
        half = paired_difference(
            [row[f"variant:{k}"] for row in rows], [row[f"base:{k}"] for row in rows]
        ).half_width
        allowed = target * abs(float(np.mean([row[f"base:{k}"] for row in rows])))
        if half == 0:
            continue
        worst = max(worst, math.inf if allowed == 0 else half / allowed)
    return worst


def run_whatif(
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    precision: float | None = None,
    precision_kpis: Sequence[str] = ("waiter_mean_wait",),
    max_replications: int = 1000,
    workers: int | None = None,
    cluster: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> WhatIfResult:
    """Run a what-if scenario: paired replications of base and variant, compared.

    Parameters
    ----------
    scenario
        The scenario (:func:`simulation.scenario.load_scenario`).
    replications
        Paired replications (>= 2); the scenario's own default, else 30. With ``precision``,
        the number to start with.
    seed
        Experiment seed (>= 0); the scenario's own default, else 0.
    precision
        If given, add replications until the 95% half-width of each difference in
        ``precision_kpis`` is at most ``precision`` times the base mean (0.05 = within 5%).
    precision_kpis
        The key figures the precision target watches.
    max_replications
        Never run more than this many with a precision target.
    workers
        Local worker processes (default: all cores; small runs stay in this process).
    cluster
        Address of a Dask scheduler to run on instead of the local pool.
    on_progress
        Called as ``on_progress(done, total)`` after each replication.

    Returns
    -------
    WhatIfResult
        Base, variant and paired difference of every key figure, each with its interval.

    Raises
    ------
    ValueError
        For invalid counts, seeds, targets or key-figure names.
    """
    n = scenario.replications if replications is None else replications
    n = DEFAULT_REPLICATIONS if n is None else n
    seed = (scenario.seed or 0) if seed is None else seed
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"replications must be a whole number >= 2, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if precision is not None:
        if not (math.isfinite(precision) and precision > 0):
            raise ValueError(f"precision must be a positive share such as 0.05, got {precision!r}")
        unknown = [k for k in precision_kpis if k not in KPIS]
        if unknown or not precision_kpis:
            raise ValueError(
                f"precision key figures must be among {', '.join(KPIS)}, got "
                f"{', '.join(unknown) or 'none'}"
            )
        if max_replications < n:
            raise ValueError(
                f"max replications ({max_replications}) must be at least the first round ({n})"
            )
    began = time.perf_counter()
    replicate = PairedReplication(
        SideRun(scenario.base, prepare_plan(scenario.base, seed=seed)),
        SideRun(scenario.variant, prepare_plan(scenario.variant, seed=seed)),
        seed,
    )
    rows: list[Measures] = []
    total = n
    completed = 0

    def progress(_index: int, _row: Measures) -> None:
        nonlocal completed
        completed += 1
        if on_progress is not None:
            on_progress(completed, total)

    reached: bool | None = None
    with ReplicationRunner(replicate, workers=workers, cluster=cluster) as runner:
        wanted = n
        while True:
            rows.extend(runner.run(range(len(rows), wanted), on_result=progress))
            if precision is None:
                break
            ratio = _shortfall(rows, precision_kpis, precision)
            if ratio <= 1.0 or len(rows) >= max_replications:
                reached = ratio <= 1.0
                break
            needed = (
                math.ceil(len(rows) * ratio * ratio * 1.1)
                if math.isfinite(ratio)
                else 2 * len(rows)
            )
            wanted = min(max_replications, max(needed, len(rows) + 1))
            total = wanted
    return WhatIfResult(
        scenario=scenario,
        seed=seed,
        rows=tuple(rows),
        comparisons=compare(rows),
        seconds=time.perf_counter() - began,
        precision=None
        if precision is None
        else Precision(precision, tuple(precision_kpis), bool(reached)),
    )
