"""Independent replications: random-number streams, parallel runs and sequential precision.

A simulation experiment in this project is a function ``replicate(index) -> {measure: value}``
that runs replication number ``index`` of one configuration with its own random numbers. This
module supplies the three things every experiment needs around such a function:

- :func:`stream` gives each replication and each source of randomness (arrivals, service
  times, no-shows, ...) its own numpy ``Generator``, derived from one seed. Because a stream
  depends only on ``(seed, replication, source name)``, changing how one source is used (a new
  service-time spread, an extra walk-in stream) leaves every other stream, and the base case of a
  what-if comparison, untouched: common random numbers without bookkeeping.
- :class:`ReplicationRunner` runs replications in parallel on a local process pool, or on a Dask
  distributed cluster when an address is given. Both take the same picklable function through
  ``submit`` and collect with ``result()``: one code path. Results come back in index order and
  do not depend on where they ran.
- :func:`run_until_precise` adds replications until the confidence interval of chosen measures is
  as narrow as asked (the ``--precision`` option), or a maximum count is reached.
"""

from __future__ import annotations

import math
import os
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

import numpy as np

from simulation.stats import Interval, summarise

Measures = Mapping[str, float]
"""What one replication returns: measure name to value."""

ReplicationFunction = Callable[[int], Measures]
"""``replicate(index)``: run replication ``index`` and return its measures. Must be picklable
(a module-level function, a ``functools.partial`` of one, or an instance of a module-level
class) to run in another process or on a cluster."""


def stream(seed: int, replication: int, source: str) -> np.random.Generator:
    """The random-number generator of one source of randomness in one replication.

    Built as ``SeedSequence(seed, spawn_key=(replication, crc32(source)))``: the same
    construction numpy uses for ``SeedSequence(seed).spawn(...)`` children, so streams are
    statistically independent, and each one is fixed by its three arguments alone. Adding a
    source or a replication never shifts another stream.

    Parameters
    ----------
    seed
        The experiment's seed (an integer >= 0).
    replication
        Replication index (>= 0).
    source
        Name of the source of randomness, e.g. ``"arrivals"``, ``"service"``, ``"class"``.

    Returns
    -------
    numpy.random.Generator
        A PCG64 generator owned by that source alone.

    Raises
    ------
    ValueError
        If ``seed`` or ``replication`` is negative or not an integer.
    """
    for name, value in (("seed", seed), ("replication", replication)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
    key = (int(replication), zlib.crc32(source.encode("utf-8")))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=key)))


def default_workers() -> int:
    """Number of CPU cores this process may use (2 on the project's machines)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


class _Future(Protocol):
    """What both ``concurrent.futures.Future`` and ``distributed.Future`` offer."""

    def result(self) -> Any: ...


class _Submitter(Protocol):
    """What both ``ProcessPoolExecutor`` and ``distributed.Client`` offer."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any: ...


def _dask_client(address: str) -> Any:
    """Connect to a Dask scheduler, importing Dask only now because it is an optional extra."""
    try:
        from dask.distributed import Client
    except ImportError as exc:
        raise RuntimeError(
            f"running replications on the Dask cluster at {address!r} needs Dask distributed, "
            "which is not installed: pip install 'dask[distributed]'"
        ) from exc
    try:
        return Client(address)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise RuntimeError(f"cannot connect to the Dask scheduler at {address!r}: {exc}") from exc


class ReplicationRunner:
    """Runs replications of one experiment, in parallel where it pays.

    Where the work goes:

    - ``cluster`` given: to that Dask distributed scheduler (``"tcp://host:8786"``); the
      workers must have this package installed.
    - otherwise a local ``ProcessPoolExecutor`` with ``workers`` processes (default: all cores),
      except for small jobs: the first replication runs in this process and is timed, and if
      the remaining ones would take less than ``in_process_below`` seconds they run here too,
      since starting a pool would cost more than it saves. ``workers=1`` always runs here.

    Results never depend on where they ran: each replication draws its random numbers from
    streams fixed by its index (see :func:`stream`).

    Parameters
    ----------
    replicate
        ``replicate(index) -> measures``; picklable when it may run elsewhere.
    workers
        Local worker processes; defaults to :func:`default_workers`.
    cluster
        Address of a Dask scheduler; ``None`` (default) for the local pool.
    in_process_below
        Estimated remaining run time, in seconds, under which a job stays in this process.

    Examples
    --------
    >>> with ReplicationRunner(my_replication) as runner:  # doctest: +SKIP
    ...     rows = runner.run(range(30))
    """

    def __init__(
        self,
        replicate: ReplicationFunction,
        *,
        workers: int | None = None,
        cluster: str | None = None,
        in_process_below: float = 1.0,
    ) -> None:
        if workers is not None and (isinstance(workers, bool) or workers < 1):
            raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
        self.replicate = replicate
        self.workers = default_workers() if workers is None else int(workers)
        self.cluster = cluster
        self.in_process_below = in_process_below
        self._submitter: _Submitter | None = None
        self._owned: Executor | Any | None = None

    def __enter__(self) -> ReplicationRunner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Shut down the process pool or disconnect from the cluster, if one was started."""
        owned, self._owned, self._submitter = self._owned, None, None
        if owned is not None:
            if isinstance(owned, Executor):
                owned.shutdown(wait=True, cancel_futures=True)
            else:
                owned.close()

    def run(
        self,
        indices: Iterable[int],
        on_result: Callable[[int, Measures], None] | None = None,
    ) -> list[Measures]:
        """Run the replications with these indices and return their measures in the same order.

        Parameters
        ----------
        indices
            Replication indices, e.g. ``range(30)``; later calls can continue with
            ``range(30, 60)`` and get the same answers as one call with ``range(60)``.
        on_result
            Called as ``on_result(index, measures)`` for each finished replication, in index
            order (for a progress bar).

        Returns
        -------
        list of Mapping
            The measures of each replication, in the order of ``indices``.
        """
        todo = list(indices)
        results: list[Measures] = []
        if not todo:
            return results
        if self._submitter is None and self.cluster is None:
            start = time.perf_counter()
            first = self.replicate(todo[0])
            elapsed = time.perf_counter() - start
            results.append(first)
            if on_result is not None:
                on_result(todo[0], first)
            todo = todo[1:]
            if self.workers == 1 or elapsed * len(todo) < self.in_process_below:
                for index in todo:
                    row = self.replicate(index)
                    results.append(row)
                    if on_result is not None:
                        on_result(index, row)
                return results
        submitter = self._connect()
        futures: list[_Future] = [submitter.submit(self.replicate, index) for index in todo]
        for index, future in zip(todo, futures, strict=True):
            row = future.result()
            results.append(row)
            if on_result is not None:
                on_result(index, row)
        return results

    def _connect(self) -> _Submitter:
        """Start the local pool or connect to the cluster, once per runner."""
        if self._submitter is None:
            if self.cluster is not None:
                client = _dask_client(self.cluster)
                self._owned = client
                self._submitter = client
            else:
                pool = ProcessPoolExecutor(max_workers=self.workers)
                self._owned = pool
                self._submitter = pool
        return self._submitter


def run_replications(
    replicate: ReplicationFunction,
    replications: int | Iterable[int],
    *,
    workers: int | None = None,
    cluster: str | None = None,
) -> list[Measures]:
    """Run replications ``0 .. replications - 1`` (or the given indices) and return their measures.

    A one-shot :class:`ReplicationRunner`; see it for where the work runs.

    Parameters
    ----------
    replicate
        ``replicate(index) -> measures``.
    replications
        How many (indices ``0 .. n - 1``), or the indices themselves.
    workers
        Local worker processes; defaults to all cores.
    cluster
        Address of a Dask scheduler, or ``None`` for the local process pool.

    Returns
    -------
    list of Mapping
        One mapping of measures per replication, in index order.
    """
    indices = range(replications) if isinstance(replications, int) else replications
    with ReplicationRunner(replicate, workers=workers, cluster=cluster) as runner:
        return runner.run(indices)


@dataclass(frozen=True, slots=True)
class PrecisionResult:
    """Outcome of :func:`run_until_precise`.

    Parameters
    ----------
    rows
        The measures of every replication run, in index order.
    intervals
        The final interval of each measure that was watched.
    reached
        Whether every watched interval met the target before ``max_replications``.
    """

    rows: tuple[Measures, ...]
    intervals: Mapping[str, Interval]
    reached: bool

    @property
    def replications(self) -> int:
        """How many replications were run."""
        return len(self.rows)


def run_until_precise(
    replicate: ReplicationFunction,
    measures: Sequence[str],
    target: float,
    *,
    relative: bool = True,
    initial: int = 10,
    max_replications: int = 1000,
    confidence: float = 0.95,
    workers: int | None = None,
    cluster: str | None = None,
) -> PrecisionResult:
    """Add replications until every watched interval's half-width is below a target.

    Sequential procedure (Law 2015, sec. 9.4.1): run ``initial`` replications, estimate from
    the current spread how many would give the target half-width
    (``n * (half_width / target)^2``, plus 10% for the uncertainty of that estimate), run the
    missing ones, and repeat until the target or ``max_replications`` is reached. Stopping on a
    variance estimate lowers coverage slightly below nominal when ``initial`` is very small; 10
    or more keeps the effect negligible.

    Parameters
    ----------
    replicate
        ``replicate(index) -> measures``.
    measures
        Names of the measures whose intervals must be narrow enough.
    target
        The half-width to reach: a fraction of the mean if ``relative`` (0.05 = within 5%),
        else in the measure's own unit.
    relative
        Whether ``target`` is relative to the mean (default) or absolute.
    initial
        Replications in the first round (>= 2).
    max_replications
        Never run more than this many (>= ``initial``).
    confidence
        Confidence level of the intervals; 0.95 by default.
    workers, cluster
        Where to run, as for :class:`ReplicationRunner`.

    Returns
    -------
    PrecisionResult
        All rows, the final intervals and whether the target was reached.

    Raises
    ------
    ValueError
        If ``target`` is not positive, no measure is named, or the counts are inconsistent.
    """
    if not measures:
        raise ValueError("name at least one measure whose interval must reach the target")
    if not (math.isfinite(target) and target > 0):
        raise ValueError(f"target half-width must be a positive number, got {target!r}")
    if initial < 2:
        raise ValueError(f"initial replications must be at least 2, got {initial}")
    if max_replications < initial:
        raise ValueError(
            f"max_replications ({max_replications}) must be at least initial ({initial})"
        )
    rows: list[Measures] = []
    with ReplicationRunner(replicate, workers=workers, cluster=cluster) as runner:
        wanted = initial
        while True:
            rows.extend(runner.run(range(len(rows), wanted)))
            intervals = summarise(rows, measures, confidence)
            ratio = max(_shortfall(iv, target, relative) for iv in intervals.values())
            n = len(rows)
            if ratio <= 1.0 or n >= max_replications:
                return PrecisionResult(tuple(rows), intervals, reached=ratio <= 1.0)
            needed = math.ceil(n * ratio * ratio * 1.1) if math.isfinite(ratio) else 2 * n
            wanted = min(max_replications, max(needed, n + 1))


def _shortfall(interval: Interval, target: float, relative: bool) -> float:
    """Half-width over the allowed half-width: <= 1 means the target is met."""
    allowed = target * abs(interval.mean) if relative else target
    if interval.half_width == 0:
        return 0.0
    if not math.isfinite(interval.half_width) or allowed == 0 or not math.isfinite(allowed):
        return math.inf
    return interval.half_width / allowed
