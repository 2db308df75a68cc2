"""Textbook queueing formulas: the yardstick the workshop simulation is checked against.

Picture a workshop reduced to its bones: cars arrive at random (a Poisson stream), wait in one
line, and are served by ``c`` identical technician-and-lift pairs, each car taking a random time.
For that picture queueing theory gives exact long-run averages, and a simulation that is set up
the same way must reproduce them inside its confidence intervals. This module holds those
formulas as pure functions; :mod:`simulation.textbook` runs the simulation beside them.

Every function returns a :class:`QueueMetrics` with the four classic measures, in the time unit
of the rates given (rates per hour give hours):

``Wq``
    mean wait in the queue, from arrival to the start of service;
``W``
    mean time in the system, ``Wq`` plus the mean service time;
``Lq``
    time-average number waiting (``Lq = lambda * Wq``, Little's law);
``L``
    time-average number in the system (``L = lambda * W``).

Priority queues also give the measures per class, first class the highest priority.

Sources
-------
- D. Gross, J. F. Shortle, J. M. Thompson, C. M. Harris, *Fundamentals of Queueing Theory*,
  4th ed., Wiley, 2008: M/M/1 (sec. 2.2), M/M/c and the Erlang C formula (sec. 2.3),
  M/G/1 and the Pollaczek-Khinchine formula (sec. 5.1), non-preemptive priorities
  (sec. 3.4: eqs. for M/G/1 and for M/M/c with equal service rates).
- L. Kleinrock, *Queueing Systems, Volume I: Theory*, Wiley, 1975, sec. 5.5 (P-K mean value).
- L. Kleinrock, *Queueing Systems, Volume II: Computer Applications*, Wiley, 1976, sec. 3.6
  (non-preemptive priority, the conservation law).
- A. Cobham, "Priority assignment in waiting line problems", *Operations Research* 2(1):70-76,
  1954 (the M/G/1 non-preemptive priority waiting times).
- The Erlang B recursion used for a numerically stable Erlang C: Gross et al., sec. 2.5.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class QueueMetrics:
    """Long-run averages of one queue (or one priority class), in the time unit of the rates.

    The attribute names are the textbook symbols, as in the ``workshop queue`` JSON output.

    Parameters
    ----------
    Wq
        Mean wait in queue, from arrival to start of service.
    W
        Mean time in system, from arrival to end of service.
    Lq
        Time-average number of customers waiting.
    L
        Time-average number of customers in the system.
    classes
        Per-class measures of a priority queue, first class the highest priority; empty for a
        queue with one class.
    """

    Wq: float
    W: float
    Lq: float
    L: float
    classes: tuple[QueueMetrics, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return ``{"Wq", "W", "Lq", "L"}`` and, when there are several classes, ``"classes"``."""
        out: dict[str, Any] = {"Wq": self.Wq, "W": self.W, "Lq": self.Lq, "L": self.L}
        if self.classes:
            out["classes"] = [c.to_json() for c in self.classes]
        return out


# --- input checks -------------------------------------------------------------------------------


def _positive(name: str, value: float) -> float:
    """Return ``value`` as a float if it is a finite positive number, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    return float(value)


def _non_negative(name: str, value: float) -> float:
    """Return ``value`` as a float if it is finite and >= 0, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _servers(value: int) -> int:
    """Return ``value`` if it is a whole number of servers >= 1, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"servers must be a whole number >= 1, got {value!r}")
    return int(value)


def _stable(rho: float, what: str) -> None:
    """Raise ``ValueError`` when the utilisation ``rho`` gives no steady state."""
    if rho >= 1:
        raise ValueError(
            f"{what} is unstable: utilisation rho = {rho:.6g} >= 1, so the queue grows without "
            "bound and has no long-run averages"
        )


def _rates(name: str, values: Sequence[float]) -> list[float]:
    """Check a per-class sequence of positive numbers (at least one class)."""
    try:
        items = [] if isinstance(values, str | bytes) else list(values)
    except TypeError:
        items = []
    if not items:
        raise ValueError(f"{name} must be a non-empty sequence of numbers, one per class")
    return [_positive(f"{name}[{k}]", v) for k, v in enumerate(items)]


# --- single-class queues ------------------------------------------------------------------------


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang B: probability that an arriving customer finds all ``servers`` busy in M/M/c/c.

    Computed by the recursion ``B(0) = 1``, ``B(k) = a B(k-1) / (k + a B(k-1))``, which stays
    accurate for hundreds of servers where the textbook sum of factorials overflows.

    Parameters
    ----------
    servers
        Number of servers ``c`` (>= 1).
    offered_load
        Offered load ``a = lambda / mu`` in erlangs (> 0).

    Returns
    -------
    float
        The blocking probability ``B(c, a)``.

    Raises
    ------
    ValueError
        If ``servers`` is not a whole number >= 1 or ``offered_load`` is not positive.
    """
    c = _servers(servers)
    a = _positive("offered_load", offered_load)
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(servers: int, offered_load: float) -> float:
    """Erlang C: probability that an arriving customer has to wait in M/M/c.

    ``C(c, a) = c B / (c - a (1 - B))`` with ``B`` the Erlang B value (Gross et al. 2008,
    sec. 2.3 and 2.5). Published check: ``C(2, 1) = 1/3``.

    Parameters
    ----------
    servers
        Number of servers ``c`` (>= 1).
    offered_load
        Offered load ``a = lambda / mu`` in erlangs; must be below ``c``.

    Returns
    -------
    float
        The probability of waiting, in ``[0, 1)``.

    Raises
    ------
    ValueError
        If the inputs are invalid or ``a >= c`` (unstable).
    """
    c = _servers(servers)
    a = _positive("offered_load", offered_load)
    _stable(a / c, f"M/M/{c}")
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def mm1(arrival_rate: float, service_rate: float) -> QueueMetrics:
    """M/M/1: Poisson arrivals, exponential service, one server.

    ``Wq = rho / (mu - lambda)``, ``W = 1 / (mu - lambda)`` (Gross et al. 2008, sec. 2.2).

    Parameters
    ----------
    arrival_rate
        ``lambda``, customers per unit time (> 0).
    service_rate
        ``mu``, services per unit time of one busy server (> 0).

    Returns
    -------
    QueueMetrics
        ``Wq``, ``W``, ``Lq``, ``L``.

    Raises
    ------
    ValueError
        If a rate is not positive or ``rho = lambda / mu >= 1``.
    """
    return mmc(arrival_rate, service_rate, 1)


def mmc(arrival_rate: float, service_rate: float, servers: int) -> QueueMetrics:
    """M/M/c: Poisson arrivals, exponential service, ``c`` identical servers, one FCFS line.

    ``Wq = C(c, a) / (c mu - lambda)`` with ``a = lambda / mu`` and ``C`` the Erlang C
    probability of waiting (Gross et al. 2008, sec. 2.3).

    Parameters
    ----------
    arrival_rate
        ``lambda``, customers per unit time (> 0).
    service_rate
        ``mu``, services per unit time of one busy server (> 0).
    servers
        ``c``, number of servers (>= 1).

    Returns
    -------
    QueueMetrics
        ``Wq``, ``W``, ``Lq``, ``L``.

    Raises
    ------
    ValueError
        If an input is invalid or ``rho = lambda / (c mu) >= 1``.
    """
    lam = _positive("arrival_rate", arrival_rate)
    mu = _positive("service_rate", service_rate)
    c = _servers(servers)
    _stable(lam / (c * mu), f"M/M/{c}")
    wq = erlang_c(c, lam / mu) / (c * mu - lam)
    return _from_wq(lam, wq, 1.0 / mu)


def mg1(arrival_rate: float, service_mean: float, service_cv: float) -> QueueMetrics:
    """M/G/1 by the Pollaczek-Khinchine mean-value formula.

    ``Wq = lambda E[S^2] / (2 (1 - rho)) = rho (1 + cv^2) / (2 (1 - rho)) * E[S]``; the mean wait
    depends on the service distribution only through its mean and coefficient of variation
    (Kleinrock 1975, sec. 5.5; Gross et al. 2008, sec. 5.1). ``cv = 1`` gives M/M/1, ``cv = 0``
    gives M/D/1.

    Parameters
    ----------
    arrival_rate
        ``lambda``, customers per unit time (> 0).
    service_mean
        ``E[S]``, mean service time (> 0), in the reciprocal unit of ``arrival_rate``.
    service_cv
        Coefficient of variation of the service time, standard deviation / mean (>= 0).

    Returns
    -------
    QueueMetrics
        ``Wq``, ``W``, ``Lq``, ``L``.

    Raises
    ------
    ValueError
        If an input is invalid or ``rho = lambda E[S] >= 1``.
    """
    lam = _positive("arrival_rate", arrival_rate)
    mean = _positive("service_mean", service_mean)
    cv = _non_negative("service_cv", service_cv)
    rho = lam * mean
    _stable(rho, "M/G/1")
    wq = rho * (1.0 + cv * cv) / (2.0 * (1.0 - rho)) * mean
    return _from_wq(lam, wq, mean)


def md1(arrival_rate: float, service_rate: float) -> QueueMetrics:
    """M/D/1: Poisson arrivals, constant service time ``1 / mu``, one server.

    The P-K formula with ``cv = 0``: ``Wq = rho / (2 mu (1 - rho))``, half the M/M/1 wait.

    Parameters
    ----------
    arrival_rate
        ``lambda``, customers per unit time (> 0).
    service_rate
        ``mu``; every service takes exactly ``1 / mu`` (> 0).

    Returns
    -------
    QueueMetrics
        ``Wq``, ``W``, ``Lq``, ``L``.

    Raises
    ------
    ValueError
        If a rate is not positive or ``rho >= 1``.
    """
    return mg1(arrival_rate, 1.0 / _positive("service_rate", service_rate), 0.0)


# --- non-preemptive priority queues -------------------------------------------------------------


def mg1_priority(
    arrival_rates: Sequence[float],
    service_means: Sequence[float],
    service_second_moments: Sequence[float],
) -> QueueMetrics:
    """M/G/1 with non-preemptive priority classes, by Cobham's formula.

    Class 1 is the highest priority. With ``sigma_k = sum_{i <= k} lambda_i E[S_i]`` and the mean
    residual work found by an arrival ``W0 = sum_i lambda_i E[S_i^2] / 2``, class ``k`` waits

        ``Wq_k = W0 / ((1 - sigma_{k-1}) (1 - sigma_k))``

    (Cobham 1954; Gross et al. 2008, sec. 3.4; Kleinrock 1976, sec. 3.6). The overall
    measures are the arrival-weighted mean waits and the summed queue lengths.

    Parameters
    ----------
    arrival_rates
        ``lambda_k`` per class, highest priority first (each > 0).
    service_means
        ``E[S_k]`` per class (each > 0).
    service_second_moments
        ``E[S_k^2]`` per class; must be at least ``E[S_k]^2`` (for exponential service it is
        ``2 E[S_k]^2``, for constant service ``E[S_k]^2``).

    Returns
    -------
    QueueMetrics
        Overall ``Wq``, ``W``, ``Lq``, ``L`` with the per-class measures under ``classes``.

    Raises
    ------
    ValueError
        If the sequences differ in length, a value is invalid, or the total utilisation >= 1.
    """
    lams = _rates("arrival_rates", arrival_rates)
    means = _rates("service_means", service_means)
    seconds = _rates("service_second_moments", service_second_moments)
    if not len(lams) == len(means) == len(seconds):
        raise ValueError(
            "arrival_rates, service_means and service_second_moments need one value per class, "
            f"got {len(lams)}, {len(means)} and {len(seconds)}"
        )
    for k, (m, s2) in enumerate(zip(means, seconds, strict=True)):
        if s2 < m * m * (1.0 - 1e-12):
            raise ValueError(
                f"service_second_moments[{k}] = {s2!r} is below service_means[{k}]^2 = {m * m!r}; "
                "a second moment is at least the squared mean"
            )
    rho = sum(lam * m for lam, m in zip(lams, means, strict=True))
    _stable(rho, "M/G/1 priority queue")
    w0 = sum(lam * s2 for lam, s2 in zip(lams, seconds, strict=True)) / 2.0
    return _priority(lams, means, w0, [lam * m for lam, m in zip(lams, means, strict=True)])


def mmc_priority(arrival_rates: Sequence[float], service_rate: float, servers: int) -> QueueMetrics:
    """M/M/c with non-preemptive priority classes that share one exponential service rate.

    With ``sigma_k = sum_{i <= k} lambda_i / (c mu)`` and ``W0 = C(c, a) / (c mu)`` (the Erlang C
    probability that all servers are busy times the mean time until the first frees up),

        ``Wq_k = W0 / ((1 - sigma_{k-1}) (1 - sigma_k))``

    (Gross et al. 2008, sec. 3.4.1; Kleinrock 1976, sec. 3.6). With one class this is the
    Erlang C wait; the arrival-weighted mean over classes always equals it, because the order of
    service does not change the work in the system when all classes have the same service rate.

    Parameters
    ----------
    arrival_rates
        ``lambda_k`` per class, highest priority first (each > 0).
    service_rate
        ``mu`` of one busy server, the same for every class (> 0).
    servers
        ``c``, number of servers (>= 1).

    Returns
    -------
    QueueMetrics
        Overall ``Wq``, ``W``, ``Lq``, ``L`` with the per-class measures under ``classes``.

    Raises
    ------
    ValueError
        If an input is invalid or the total utilisation >= 1.
    """
    lams = _rates("arrival_rates", arrival_rates)
    mu = _positive("service_rate", service_rate)
    c = _servers(servers)
    lam = sum(lams)
    _stable(lam / (c * mu), f"M/M/{c} priority queue")
    w0 = erlang_c(c, lam / mu) / (c * mu)
    return _priority(lams, [1.0 / mu] * len(lams), w0, [x / (c * mu) for x in lams])


def _priority(
    lams: list[float], means: list[float], w0: float, shares_of_capacity: list[float]
) -> QueueMetrics:
    """Apply ``Wq_k = W0 / ((1 - sigma_{k-1}) (1 - sigma_k))`` and aggregate over the classes."""
    classes: list[QueueMetrics] = []
    sigma_before = 0.0
    for lam, mean, share in zip(lams, means, shares_of_capacity, strict=True):
        sigma = sigma_before + share
        wq = w0 / ((1.0 - sigma_before) * (1.0 - sigma))
        classes.append(_from_wq(lam, wq, mean))
        sigma_before = sigma
    total = sum(lams)
    return QueueMetrics(
        Wq=sum(lam * m.Wq for lam, m in zip(lams, classes, strict=True)) / total,
        W=sum(lam * m.W for lam, m in zip(lams, classes, strict=True)) / total,
        Lq=sum(m.Lq for m in classes),
        L=sum(m.L for m in classes),
        classes=tuple(classes),
    )


def _from_wq(arrival_rate: float, wq: float, service_mean: float) -> QueueMetrics:
    """Complete the four measures from ``Wq`` by ``W = Wq + E[S]`` and Little's law."""
    w = wq + service_mean
    return QueueMetrics(Wq=wq, W=w, Lq=arrival_rate * wq, L=arrival_rate * w)


# --- the textbook queue of ``workshop queue`` ---------------------------------------------------


def textbook_formula(
    arrival_rate: float,
    service_rate: float,
    servers: int,
    service_cv: float = 1.0,
    class_shares: Sequence[float] | None = None,
) -> QueueMetrics | None:
    """Exact long-run measures of the queue ``workshop queue`` simulates, or ``None`` if none apply.

    The queue: Poisson arrivals at ``arrival_rate``, service time with mean ``1 / service_rate``
    and coefficient of variation ``service_cv``, ``servers`` servers, and, with
    ``class_shares``, non-preemptive priority classes (first the highest) drawn independently
    per customer with those probabilities. The formula used:

    - one server: Pollaczek-Khinchine (one class) or Cobham (several), exact for any service
      distribution with that mean and CV;
    - several servers and exponential service (``cv = 1``): Erlang C, or its priority form;
    - several servers and ``cv != 1``: no exact closed form (M/G/c), so ``None``.

    Parameters
    ----------
    arrival_rate
        Customers per unit time (> 0).
    service_rate
        Services per unit time of one busy server (> 0).
    servers
        Number of servers (>= 1).
    service_cv
        Service-time coefficient of variation (>= 0); 1 is exponential.
    class_shares
        Probability of each priority class, highest first; ``None`` for one class.

    Returns
    -------
    QueueMetrics or None
        The measures (per class under ``classes`` when there are several), or ``None``.

    Raises
    ------
    ValueError
        If an input is invalid or the queue is unstable.
    """
    lam = _positive("arrival_rate", arrival_rate)
    mu = _positive("service_rate", service_rate)
    c = _servers(servers)
    cv = _non_negative("service_cv", service_cv)
    shares = check_class_shares(class_shares)
    _stable(lam / (c * mu), f"the queue with {c} server(s)")
    if len(shares) == 1:
        if c == 1:
            return mg1(lam, 1.0 / mu, cv)
        return mmc(lam, mu, c) if cv == 1.0 else None
    lams = [lam * p for p in shares]
    if c == 1:
        mean = 1.0 / mu
        second = (1.0 + cv * cv) * mean * mean
        return mg1_priority(lams, [mean] * len(lams), [second] * len(lams))
    return mmc_priority(lams, mu, c) if cv == 1.0 else None


def check_class_shares(class_shares: Sequence[float] | None) -> tuple[float, ...]:
    """Return the class shares as a tuple, ``(1.0,)`` for ``None``; they must be > 0 and sum to 1.

    Raises
    ------
    ValueError
        If a share is not positive or the shares do not add up to 1 (within 1e-6).
    """
    if class_shares is None:
        return (1.0,)
    shares = tuple(_rates("class_shares", class_shares))
    total = math.fsum(shares)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"class_shares must add up to 1, got {list(shares)} (sum {total:.6g})")
    return shares
