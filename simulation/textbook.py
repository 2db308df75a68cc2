"""The simulation engine reduced to a textbook queue, to check it against queueing theory.

Picture the workshop with everything taken away but the queue: cars arrive one at a time at
random (exponential gaps, rate ``lambda``), wait in one line, and are served by ``c`` identical
servers (a technician with a lift), each job taking a random time of mean ``1 / mu`` and
coefficient of variation ``cv``: exponential for ``cv = 1``, constant for ``cv = 0``, otherwise a
gamma (or lognormal) of that spread. With class shares, each car belongs to a priority class
(say, waiters before drop-offs), and a free server always takes the waiting car of the highest
class, first come first served within a class, never interrupting a job under way
(non-preemptive). Queueing theory knows the long-run waits of this picture exactly
(:mod:`simulation.queueing`), so the simulation must reproduce them inside its own confidence
intervals; that is what ``workshop queue`` shows.

How it is simulated
-------------------
SimPy is the engine: the servers are a ``simpy.PriorityResource`` of capacity ``c``, and a car
holds it from the start to the end of its service. Random numbers are drawn up front in numpy
blocks, one stream per source (arrivals, service times, classes; see
:func:`simulation.experiments.stream`), so a change to one source leaves the others exactly as
they were (common random numbers).

Three workshop events drive everything: :meth:`TextbookQueueSim.customer_arrives`,
:meth:`TextbookQueueSim.service_starts` and :meth:`TextbookQueueSim.service_ends`. They are
*callbacks* on SimPy events rather than one generator process per car, which is the style
STYLE.md rule 10 shows. The reason is speed: a process per car costs SimPy two more events
(its start and its end) and a generator resumption at every step; on M/M/4 at ``rho = 0.8``
the callback form simulates about 1.25 times as many cars per CPU second as the same model with
a process per car, and about 2.6 times as many as Ciw (``benchmarks/queue_speed.py`` measures
all three side by side). The request is still a genuine ``PriorityResource`` request that
SimPy grants in its own priority order.

Each car gets one record row (STYLE.md rule 11): arrival, service start, departure, class.
All measures are computed afterwards from these rows, over the observation window
``[warmup, horizon)``:

- ``Wq`` and ``W`` are customer averages over the cars that *arrive* inside the window. The run
  continues past ``horizon`` (with arrivals still coming, so a low-priority car still has to
  give way to later high-priority ones) until every car that arrived before ``horizon`` has
  left: no wait is cut short, so none is biased low.
- ``Lq`` and ``L`` are *time averages* over the window: the total time cars spent waiting (in
  the system) inside ``[warmup, horizon)``, divided by its length. Little's law is not used to
  compute them, so ``Lq = lambda Wq`` is a check, not an identity.

Cars arriving before ``warmup`` are simulated but not counted (warm-up deletion), which removes
the bias of starting with an empty workshop.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import simpy
from simpy.resources.resource import PriorityRequest

from simulation.experiments import Measures, ReplicationRunner, stream
from simulation.queueing import QueueMetrics, check_class_shares, textbook_formula
from simulation.stats import Interval, summarise

MEASURES = ("Wq", "W", "Lq", "L")
"""The four measures reported, in this order."""

ServiceFamily = Literal["gamma", "lognormal"]

# Cap on the automatic observation window, in expected customers per replication: near
# rho = 1 the relaxation time explodes and an uncapped default would run for hours.
_MAX_DEFAULT_CUSTOMERS = 200_000


@dataclass(frozen=True, slots=True)
class TextbookQueue:
    """A textbook queue: Poisson arrivals, ``servers`` servers, optional priority classes.

    Parameters
    ----------
    arrival_rate
        ``lambda``: cars per unit time (> 0). The unit is yours (per hour, per minute); all
        times, including ``horizon`` and ``warmup``, are in its reciprocal.
    service_rate
        ``mu``: services per unit time of one busy server (> 0); mean service time ``1 / mu``.
    servers
        ``c``: identical servers sharing one line (>= 1).
    service_cv
        Coefficient of variation of the service time (>= 0): 1 exponential, 0 constant,
        otherwise a gamma (or lognormal) with this CV.
    class_shares
        Probability of each priority class, highest priority first; ``(1.0,)`` for one class.
    service_family
        Distribution used when ``service_cv`` is neither 0 nor 1: ``"gamma"`` (default) or
        ``"lognormal"``. Both have the requested mean and CV, which is all the one-server
        formulas depend on.

    Raises
    ------
    ValueError
        If an input is invalid or ``rho = lambda / (c mu) >= 1`` (no steady state to estimate).
    """

    arrival_rate: float
    service_rate: float
    servers: int
    service_cv: float = 1.0
    class_shares: tuple[float, ...] = (1.0,)
    service_family: ServiceFamily = "gamma"

    def __post_init__(self) -> None:
        # The formulas check every input and stability with the same messages; reuse them.
        textbook_formula(
            self.arrival_rate,
            self.service_rate,
            self.servers,
            self.service_cv,
            self.class_shares,
        )
        object.__setattr__(self, "class_shares", check_class_shares(self.class_shares))
        if self.service_family not in ("gamma", "lognormal"):
            raise ValueError(
                f"service_family must be 'gamma' or 'lognormal', got {self.service_family!r}"
            )

    @property
    def utilisation(self) -> float:
        """``rho = lambda / (c mu)``, the long-run fraction of time a server is busy."""
        return self.arrival_rate / (self.servers * self.service_rate)

    @property
    def classes(self) -> int:
        """Number of priority classes."""
        return len(self.class_shares)

    def analytic(self) -> QueueMetrics | None:
        """Exact long-run measures from :func:`simulation.queueing.textbook_formula`, if any."""
        return textbook_formula(
            self.arrival_rate, self.service_rate, self.servers, self.service_cv, self.class_shares
        )

    def relaxation_time(self) -> float:
        """Rough time for the queue to forget its start, ``(1+cv^2)/2 / (c mu (1 - sqrt rho)^2)``.

        The M/M/1 relaxation time ``1 / (mu (1 - sqrt rho)^2)`` (Gross et al. 2008, sec. 2.12),
        scaled by the heavy-traffic variability factor ``(1 + cv^2) / 2`` and by the capacity of
        the ``c`` servers. Used only to choose default run lengths.
        """
        variability = (1.0 + self.service_cv**2) / 2.0
        gap = (1.0 - math.sqrt(self.utilisation)) ** 2
        return variability / (self.servers * self.service_rate * gap)


def default_run_length(queue: TextbookQueue) -> tuple[float, float]:
    """Default ``(horizon, warmup)`` for one replication of ``queue``.

    ``warmup`` is 10 relaxation times (:meth:`TextbookQueue.relaxation_time`), after which the
    bias of the empty start has decayed to about ``e^-10`` of its size. The observation window
    after it holds ``250 sqrt(c)`` relaxation times' worth of arrivals, at least 10,000 and at
    most 200,000 expected arrivals. The constants were fitted on measured replication variances
    (M/M/1 at rho 0.5-0.9, M/M/c with c up to 8, M/G/1 with CV 0-2, two priority classes) so
    that 30 replications give 95% intervals within about 4% of the mean at ``rho <= 0.8``; the
    ``sqrt(c)`` is there because the mean wait of a many-server queue is small next to its
    spread. A default run at ``rho = 0.8`` simulates 0.3-1.5 million cars (a few seconds on two
    cores); near ``rho = 1`` the cap keeps the run bounded and the intervals get wider.

    Parameters
    ----------
    queue
        The queue to simulate.

    Returns
    -------
    tuple of float
        ``(horizon, warmup)``, in the reciprocal unit of the rates.
    """
    relax = queue.relaxation_time()
    per_relaxation = queue.arrival_rate * relax  # expected arrivals per relaxation time
    customers = 250 * math.sqrt(queue.servers) * per_relaxation
    customers = min(max(customers, 10_000), _MAX_DEFAULT_CUSTOMERS)
    window = customers / queue.arrival_rate
    warmup = min(10 * relax, window / 2)
    return warmup + window, warmup


# --- records ------------------------------------------------------------------------------------


class CustomerRecord(NamedTuple):
    """One car's row: when it arrived, started service and left, and its priority class."""

    customer: int
    priority_class: int
    arrival: float
    service_start: float
    departure: float


@dataclass(frozen=True, slots=True)
class CustomerRecords:
    """The record rows of one replication, stored by column (row ``i`` is car ``i``).

    Holds every car that arrived before the horizon, all of them served to the end.

    Parameters
    ----------
    arrival, service_start, departure
        Times of each car's three events.
    priority_class
        Class of each car, 0 the highest.
    served
        Cars that completed service during the run, including some that arrived after the
        horizon (they are simulated so the last observed cars meet realistic competition);
        used to count simulated cars per second.
    """

    arrival: npt.NDArray[np.float64]
    service_start: npt.NDArray[np.float64]
    departure: npt.NDArray[np.float64]
    priority_class: npt.NDArray[np.int64]
    served: int

    def __len__(self) -> int:
        return int(self.arrival.size)

    def rows(self) -> Iterator[CustomerRecord]:
        """Iterate over the rows, one :class:`CustomerRecord` per car."""
        for i in range(len(self)):
            yield CustomerRecord(
                customer=i,
                priority_class=int(self.priority_class[i]),
                arrival=float(self.arrival[i]),
                service_start=float(self.service_start[i]),
                departure=float(self.departure[i]),
            )


# --- the simulation -----------------------------------------------------------------------------


class CustomerRequest(PriorityRequest):
    """A car's request for a server, remembering which car asked.

    Lower ``priority`` is served first, as SimPy orders a ``PriorityResource``'s queue; ties go
    to the earlier request.
    """

    def __init__(self, servers: simpy.PriorityResource, customer: int, priority: int) -> None:
        self.customer = customer
        super().__init__(servers, priority=priority)


@dataclass(frozen=True, slots=True)
class QueueStreams:
    """The random-number generators of one replication, one per source of randomness."""

    arrivals: np.random.Generator
    service: np.random.Generator
    classes: np.random.Generator

    @classmethod
    def for_replication(cls, seed: int, replication: int) -> QueueStreams:
        """The streams of replication ``replication`` of an experiment seeded with ``seed``."""
        return cls(
            arrivals=stream(seed, replication, "arrivals"),
            service=stream(seed, replication, "service"),
            classes=stream(seed, replication, "class"),
        )


class TextbookQueueSim:
    """One replication of a :class:`TextbookQueue` on a SimPy environment.

    Parameters
    ----------
    queue
        What to simulate.
    horizon
        Cars arriving before this time are observed and followed until they leave.
    streams
        The replication's random-number generators.
    """

    def __init__(self, queue: TextbookQueue, horizon: float, streams: QueueStreams) -> None:
        self.queue = queue
        self.horizon = horizon
        self.streams = streams
        self.env = simpy.Environment()
        self.servers = simpy.PriorityResource(self.env, capacity=queue.servers)
        self._finished = self.env.event()
        # Pre-drawn inputs, indexed by car; plain lists because indexing a list of Python
        # floats is several times faster than indexing a numpy array from Python code.
        self._gaps: list[float] = []
        self._service: list[float] = []
        self._class: list[int] = []
        self.arrival: list[float] = []
        self.service_start: list[float] = []
        self.departure: list[float] = []
        self._next = 0  # the car due to arrive next
        self._open = 0  # observed cars (arrived before the horizon) still in the workshop
        self._arrivals_closed = False  # a car has arrived at or after the horizon
        self._served = 0
        expected = queue.arrival_rate * horizon
        self._block = max(16, math.ceil(expected + 4 * math.sqrt(expected) + 16))

    def run(self) -> CustomerRecords:
        """Simulate until every car that arrived before the horizon has left; return the rows."""
        self._draw(self._block)
        self._block = max(16, self._block // 10)
        first = self.env.timeout(self._gaps[0])
        first.callbacks.append(self.customer_arrives)
        self.env.run(until=self._finished)
        observed = sum(1 for t in self.arrival if t < self.horizon)
        return CustomerRecords(
            arrival=np.asarray(self.arrival[:observed], dtype=np.float64),
            service_start=np.asarray(self.service_start[:observed], dtype=np.float64),
            departure=np.asarray(self.departure[:observed], dtype=np.float64),
            priority_class=np.asarray(self._class[:observed], dtype=np.int64),
            served=self._served,
        )

    def _draw(self, n: int) -> None:
        """Draw the gaps, service times and classes of the next ``n`` cars, one stream each."""
        q = self.queue
        self._gaps.extend(self.streams.arrivals.exponential(1.0 / q.arrival_rate, n).tolist())
        self._service.extend(_draw_service(self.streams.service, q, n))
        if q.classes == 1:
            self._class.extend([0] * n)
        else:
            edges = np.cumsum(q.class_shares)[:-1]
            drawn = np.searchsorted(edges, self.streams.classes.random(n), side="right")
            self._class.extend(drawn.tolist())
        missing = [math.nan] * n
        self.service_start.extend(missing)
        self.departure.extend(missing)

    def customer_arrives(self, event: simpy.Event) -> None:
        """A car arrives, joins the line for a server, and the next arrival is scheduled."""
        env = self.env
        car = self._next
        now = env.now
        self.arrival.append(now)
        if now < self.horizon:
            self._open += 1
        else:
            self._arrivals_closed = True
            if self._open == 0:
                self._finish()
                return
        request = CustomerRequest(self.servers, car, self._class[car])
        request.callbacks.append(self.service_starts)
        self._next = car + 1
        if self._next == len(self._gaps):
            self._draw(self._block)
        env.timeout(self._gaps[self._next]).callbacks.append(self.customer_arrives)

    def service_starts(self, event: simpy.Event) -> None:
        """A server takes the car: it holds the server for its service time."""
        request: CustomerRequest = event  # type: ignore[assignment]  # it is our own request
        car = request.customer
        self.service_start[car] = self.env.now
        self.env.timeout(self._service[car], request).callbacks.append(self.service_ends)

    def service_ends(self, event: simpy.Event) -> None:
        """The car's service is done: it leaves and frees its server for the next in line."""
        request: CustomerRequest = event.value  # type: ignore[assignment]
        car = request.customer
        now = self.env.now
        self.departure[car] = now
        self.servers.release(request)
        self._served += 1
        if self.arrival[car] < self.horizon:
            self._open -= 1
            if self._open == 0 and self._arrivals_closed:
                self._finish()

    def _finish(self) -> None:
        """Every observed car has left: stop the run (once, even if two events tie)."""
        if not self._finished.triggered:
            self._finished.succeed()


def _draw_service(rng: np.random.Generator, queue: TextbookQueue, n: int) -> list[float]:
    """``n`` service times with mean ``1 / mu`` and the queue's coefficient of variation."""
    mean = 1.0 / queue.service_rate
    cv = queue.service_cv
    if cv == 0:
        return [mean] * n
    if cv == 1:
        return rng.exponential(mean, n).tolist()  # type: ignore[no-any-return]
    if queue.service_family == "gamma":
        shape = 1.0 / (cv * cv)
        return rng.gamma(shape, mean / shape, n).tolist()  # type: ignore[no-any-return]
    sigma2 = math.log1p(cv * cv)
    return rng.lognormal(math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2), n).tolist()  # type: ignore[no-any-return]


def simulate_queue(
    queue: TextbookQueue, *, horizon: float, seed: int = 0, replication: int = 0
) -> CustomerRecords:
    """Simulate one replication of ``queue`` and return its record rows.

    Parameters
    ----------
    queue
        The queue to simulate.
    horizon
        End of the observation window; cars arriving before it are followed until they leave.
    seed
        Experiment seed (>= 0).
    replication
        Replication index (>= 0); with ``seed`` it fixes every random number.

    Returns
    -------
    CustomerRecords
        One row per car that arrived before ``horizon``.
    """
    if not (math.isfinite(horizon) and horizon > 0):
        raise ValueError(f"horizon must be a positive number, got {horizon!r}")
    streams = QueueStreams.for_replication(seed, replication)
    return TextbookQueueSim(queue, horizon, streams).run()


def queue_measures(
    records: CustomerRecords, *, warmup: float, horizon: float, classes: int = 1
) -> dict[str, float]:
    """Estimate ``Wq``, ``W``, ``Lq``, ``L`` from one replication's rows, after the warm-up.

    Parameters
    ----------
    records
        The rows of one replication.
    warmup
        Start of the observation window; earlier arrivals and time are not counted.
    horizon
        End of the observation window.
    classes
        Number of priority classes; with more than one, the measures of class ``k`` are added
        under ``"Wq[k]"``, ``"W[k]"``, ``"Lq[k]"``, ``"L[k]"``.

    Returns
    -------
    dict of str to float
        ``Wq`` and ``W`` averaged over cars arriving in ``[warmup, horizon)``; ``Lq`` and ``L``
        as time averages over ``[warmup, horizon)``. NaN for a class with no car in the window.
    """
    length = horizon - warmup
    arrival, start, leave = records.arrival, records.service_start, records.departure
    lo = np.maximum(arrival, warmup)
    queued = np.clip(np.minimum(start, horizon) - lo, 0.0, None)
    inside = np.clip(np.minimum(leave, horizon) - lo, 0.0, None)
    counted = arrival >= warmup

    def measures(mask: npt.NDArray[np.bool_]) -> dict[str, float]:
        chosen = counted & mask
        n = int(chosen.sum())
        return {
            "Wq": float((start - arrival)[chosen].sum() / n) if n else math.nan,
            "W": float((leave - arrival)[chosen].sum() / n) if n else math.nan,
            "Lq": float(queued[mask].sum() / length),
            "L": float(inside[mask].sum() / length),
        }

    out = measures(np.ones(arrival.shape, dtype=bool))
    if classes > 1:
        for k in range(classes):
            for name, value in measures(records.priority_class == k).items():
                out[f"{name}[{k}]"] = value
    return out


@dataclass(frozen=True, slots=True)
class QueueReplication:
    """Replication ``index`` of a textbook-queue experiment, as a picklable function.

    Calling it returns the measures of :func:`queue_measures` plus ``"customers"``, the number
    of cars served in the run (for speed reports).
    """

    queue: TextbookQueue
    horizon: float
    warmup: float
    seed: int = 0

    def __call__(self, index: int) -> dict[str, float]:
        records = simulate_queue(
            self.queue, horizon=self.horizon, seed=self.seed, replication=index
        )
        out = queue_measures(
            records, warmup=self.warmup, horizon=self.horizon, classes=self.queue.classes
        )
        out["customers"] = float(records.served)
        return out


@dataclass(frozen=True, slots=True)
class QueueReport:
    """Analytic and simulated measures of one textbook queue.

    Parameters
    ----------
    queue
        The queue.
    horizon, warmup
        Observation window ``[warmup, horizon)`` of every replication.
    seed
        Experiment seed.
    analytic
        Exact measures, or ``None`` where no formula applies (M/G/c with ``cv != 1``).
    rows
        Every replication's measures, in replication order.
    simulated
        95% Student-t interval of each overall measure (``Wq``, ``W``, ``Lq``, ``L``).
    simulated_classes
        The same per priority class when there are several; empty otherwise.
    """

    queue: TextbookQueue
    horizon: float
    warmup: float
    seed: int
    analytic: QueueMetrics | None
    rows: tuple[Mapping[str, float], ...]
    simulated: Mapping[str, Interval]
    simulated_classes: tuple[Mapping[str, Interval], ...] = field(default=())

    @property
    def replications(self) -> int:
        """Number of independent replications behind the intervals."""
        return len(self.rows)

    @property
    def customers(self) -> int:
        """Cars served over all replications."""
        return int(sum(row["customers"] for row in self.rows))

    def to_json(self) -> dict[str, Any]:
        """The ``workshop queue --json`` document (DESIGN.md).

        ``{"analytic": {"Wq": x, "W": x, "Lq": x, "L": x}, "simulated": {"Wq": {"mean": x,
        "ci95": [lo, hi]}, ...}}``, each with ``"classes"`` (a list, highest priority first)
        when there are several classes; analytic values are ``null`` where no formula applies.
        """
        several = self.queue.classes > 1
        if self.analytic is not None:
            analytic = self.analytic.to_json()
        else:
            analytic = dict.fromkeys(MEASURES)
            if several:
                analytic["classes"] = [dict.fromkeys(MEASURES) for _ in range(self.queue.classes)]
        simulated: dict[str, Any] = {m: self.simulated[m].to_json() for m in MEASURES}
        if several:
            simulated["classes"] = [
                {m: per[m].to_json() for m in MEASURES} for per in self.simulated_classes
            ]
        return {"analytic": analytic, "simulated": simulated}


def run_queue(
    arrival_rate: float,
    service_rate: float,
    servers: int,
    *,
    service_cv: float = 1.0,
    class_shares: Sequence[float] | None = None,
    replications: int = 30,
    horizon: float | None = None,
    warmup: float | None = None,
    seed: int = 0,
    service_family: ServiceFamily = "gamma",
    workers: int | None = None,
    cluster: str | None = None,
) -> QueueReport:
    """Simulate a textbook queue over independent replications and set it beside theory.

    Parameters
    ----------
    arrival_rate
        ``lambda``, cars per unit time (> 0).
    service_rate
        ``mu``, services per unit time of one server (> 0).
    servers
        ``c``, number of servers (>= 1).
    service_cv
        Service-time coefficient of variation: 1 exponential (default), 0 constant, otherwise
        gamma (or lognormal, see ``service_family``).
    class_shares
        Probability of each non-preemptive priority class, highest first; ``None`` for one.
    replications
        Independent replications (>= 2); 30 by default.
    horizon
        End of each replication's observation window, in the reciprocal unit of the rates;
        ``None`` for :func:`default_run_length`.
    warmup
        Warm-up time deleted from the start of each replication (``0 <= warmup < horizon``);
        ``None`` for :func:`default_run_length` (when ``horizon`` is given, 10 relaxation times
        capped at half the horizon).
    seed
        Experiment seed (>= 0); the same seed gives the same report.
    service_family
        ``"gamma"`` (default) or ``"lognormal"`` when ``service_cv`` is not 0 or 1.
    workers
        Local worker processes; default all cores (small runs stay in this process).
    cluster
        Address of a Dask scheduler to run the replications on; ``None`` for the local pool.

    Returns
    -------
    QueueReport
        Analytic values beside the simulated means and 95% intervals.

    Raises
    ------
    ValueError
        If an input is invalid, the queue is unstable, or the run length is inconsistent.
    """
    shares = check_class_shares(class_shares)
    queue = TextbookQueue(
        arrival_rate=arrival_rate,
        service_rate=service_rate,
        servers=servers,
        service_cv=service_cv,
        class_shares=shares,
        service_family=service_family,
    )
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 2:
        raise ValueError(
            f"replications must be a whole number >= 2 for a confidence interval, "
            f"got {replications!r}"
        )
    horizon, warmup = _run_length(queue, horizon, warmup)
    replicate = QueueReplication(queue, horizon=horizon, warmup=warmup, seed=_seed(seed))
    with ReplicationRunner(replicate, workers=workers, cluster=cluster) as runner:
        rows: list[Measures] = runner.run(range(replications))
    simulated = summarise(rows, MEASURES)
    per_class: tuple[Mapping[str, Interval], ...] = ()
    if queue.classes > 1:
        per_class = tuple(_class_intervals(rows, k) for k in range(queue.classes))
    return QueueReport(
        queue=queue,
        horizon=horizon,
        warmup=warmup,
        seed=seed,
        analytic=queue.analytic(),
        rows=tuple(rows),
        simulated=simulated,
        simulated_classes=per_class,
    )


def queue_report(
    arrival_rate: float,
    service_rate: float,
    servers: int,
    service_cv: float = 1.0,
    class_shares: Sequence[float] | None = None,
    replications: int = 30,
    horizon: float | None = None,
    warmup: float | None = None,
    seed: int = 0,
    *,
    workers: int | None = None,
    cluster: str | None = None,
) -> dict[str, Any]:
    """The ``workshop queue`` service: run the textbook queue and return its JSON document.

    Same arguments as :func:`run_queue`; returns ``run_queue(...).to_json()``, the DESIGN.md
    shape ``{"analytic": {...}, "simulated": {...}}`` ready for ``json.dumps``.

    Raises
    ------
    ValueError
        With a one-line message, for any invalid input or an unstable queue.
    """
    return run_queue(
        arrival_rate,
        service_rate,
        servers,
        service_cv=service_cv,
        class_shares=class_shares,
        replications=replications,
        horizon=horizon,
        warmup=warmup,
        seed=seed,
        workers=workers,
        cluster=cluster,
    ).to_json()


def _class_intervals(rows: Sequence[Measures], k: int) -> dict[str, Interval]:
    """Intervals of class ``k``'s measures, stored as ``"Wq[k]"`` etc. in each row."""
    intervals = summarise(rows, [f"{m}[{k}]" for m in MEASURES])
    return {m: intervals[f"{m}[{k}]"] for m in MEASURES}


def _seed(seed: int) -> int:
    """Check the experiment seed."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    return int(seed)


def _run_length(
    queue: TextbookQueue, horizon: float | None, warmup: float | None
) -> tuple[float, float]:
    """Fill in default horizon and warm-up and check that ``0 <= warmup < horizon``."""
    default_horizon, default_warmup = default_run_length(queue)
    if horizon is None:
        horizon = default_horizon if warmup is None else warmup + default_horizon - default_warmup
    if warmup is None:
        warmup = min(default_warmup, horizon / 2)
    for name, value in (("horizon", horizon), ("warmup", warmup)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{name} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if horizon <= 0:
        raise ValueError(f"horizon must be positive, got {horizon!r}")
    if not 0 <= warmup < horizon:
        raise ValueError(
            f"warmup must be at least 0 and less than the horizon ({horizon!r}), got {warmup!r}"
        )
    return float(horizon), float(warmup)
