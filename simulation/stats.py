"""Confidence intervals for replicated simulation output.

A simulated workshop day is one random draw; the manager's question ("does an express lane cut
the waiter's wait?") is answered by many independent replications and an interval around their
mean. Replication means are close to normal when each replication is long enough, so the
Student-t interval over replications is the standard tool (Law, *Simulation Modeling and
Analysis*, 5th ed., 2015, sec. 9.4.1). Comparing two configurations that were run with common
random numbers, the paired-t interval on the per-replication differences removes the shared
noise (Law 2015, sec. 10.2.1).

All functions are pure: they take numbers and return :class:`Interval` values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as _scipy_stats


@dataclass(frozen=True, slots=True)
class Interval:
    """A sample mean with its two-sided Student-t confidence interval.

    Parameters
    ----------
    mean
        The sample mean (NaN when the sample contains NaN, e.g. a class with no customers).
    low, high
        The interval's ends; equal to ``mean`` when the sample has no spread.
    n
        Number of observations (replications) behind it.
    confidence
        Confidence level, 0.95 by default.
    """

    mean: float
    low: float
    high: float
    n: int
    confidence: float = 0.95

    @property
    def half_width(self) -> float:
        """Half the interval's width, ``t_{n-1, 1-alpha/2} * s / sqrt(n)``."""
        return (self.high - self.low) / 2.0

    @property
    def relative_half_width(self) -> float:
        """Half-width divided by ``|mean|``; ``inf`` when the mean is 0 and the width is not."""
        if self.mean == 0:
            return 0.0 if self.half_width == 0 else math.inf
        return self.half_width / abs(self.mean)

    def contains(self, value: float) -> bool:
        """Return whether ``value`` lies inside the closed interval."""
        return self.low <= value <= self.high

    def to_json(self) -> dict[str, Any]:
        """Return ``{"mean": x, "ci95": [lo, hi]}`` with ``null`` for values that are not finite.

        The key names the confidence level, so a 90% interval is written under ``ci90``.
        """
        key = f"ci{round(self.confidence * 100):d}"
        return {"mean": _finite(self.mean), key: [_finite(self.low), _finite(self.high)]}


def _finite(x: float) -> float | None:
    """JSON has no NaN or infinity: map them to ``None`` (``null``)."""
    return float(x) if math.isfinite(x) else None


def t_interval(sample: Iterable[float], confidence: float = 0.95) -> Interval:
    """Student-t confidence interval for the mean of independent, identically distributed values.

    Parameters
    ----------
    sample
        One value per independent replication (at least two).
    confidence
        Two-sided confidence level in (0, 1); 0.95 by default.

    Returns
    -------
    Interval
        ``mean +- t_{n-1, (1+confidence)/2} * s / sqrt(n)``, with ``s`` the sample standard
        deviation. NaN values propagate to a NaN interval rather than being dropped, because a
        dropped replication would bias the estimate silently.

    Raises
    ------
    ValueError
        If fewer than two values are given or ``confidence`` is not in (0, 1).
    """
    x = np.asarray(list(sample), dtype=float)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"a confidence interval needs at least 2 replications, got {x.size}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    n = int(x.size)
    mean = float(x.mean())
    if not math.isfinite(mean):
        return Interval(mean=mean, low=mean, high=mean, n=n, confidence=confidence)
    sd = float(x.std(ddof=1))
    quantile = float(_scipy_stats.t.ppf(0.5 + confidence / 2.0, n - 1))
    half = quantile * sd / math.sqrt(n)
    return Interval(mean=mean, low=mean - half, high=mean + half, n=n, confidence=confidence)


def paired_difference(
    variant: Sequence[float], base: Sequence[float], confidence: float = 0.95
) -> Interval:
    """Paired-t interval for the mean of ``variant - base`` over matched replications.

    Replication ``i`` of both must share its random-number streams (common random numbers);
    then the difference's variance is ``Var(X) + Var(Y) - 2 Cov(X, Y)``, far smaller than the
    unpaired ``Var(X) + Var(Y)`` when the two configurations react alike to the same luck.

    Parameters
    ----------
    variant, base
        Per-replication values, in replication order, of equal length (at least two).
    confidence
        Two-sided confidence level; 0.95 by default.

    Returns
    -------
    Interval
        The interval for ``E[variant - base]``.

    Raises
    ------
    ValueError
        If the lengths differ or fewer than two pairs are given.
    """
    v = np.asarray(list(variant), dtype=float)
    b = np.asarray(list(base), dtype=float)
    if v.shape != b.shape:
        raise ValueError(
            f"paired replications must match one to one, got {v.size} variant and {b.size} base"
        )
    return t_interval(v - b, confidence)


def summarise(
    rows: Sequence[Mapping[str, float]],
    keys: Iterable[str] | None = None,
    confidence: float = 0.95,
) -> dict[str, Interval]:
    """Student-t interval for each measure across replications.

    Parameters
    ----------
    rows
        One mapping of measure name to value per replication, as returned by a replication
        function.
    keys
        The measures to summarise; by default every key of the first row, in its order.
    confidence
        Two-sided confidence level; 0.95 by default.

    Returns
    -------
    dict of str to Interval
        One interval per measure.

    Raises
    ------
    ValueError
        If a row lacks a requested measure or fewer than two rows are given.
    """
    if not rows:
        raise ValueError("a confidence interval needs at least 2 replications, got 0")
    names = list(rows[0]) if keys is None else list(keys)
    out: dict[str, Interval] = {}
    for name in names:
        missing = [i for i, row in enumerate(rows) if name not in row]
        if missing:
            raise ValueError(f"measure {name!r} is missing from replication(s) {missing[:5]}")
        out[name] = t_interval([row[name] for row in rows], confidence)
    return out
