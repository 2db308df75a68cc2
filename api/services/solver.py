"""The solver pool: plans are made in worker processes, never in a request's transaction.

A long or crashing solve must not block other requests or hold database locks, so solves run
in worker processes (spawned, not forked: the server has threads and open connections). Each
worker is a *lane* of its own, used by one solve at a time: a request first waits for a free
lane (that wait is not part of its time limit), then its solve gets ``time_limit`` plus a grace
period of run time. A solve that overruns is abandoned and only its own worker is killed and
replaced; a worker that crashes is replaced the same way. Other requests' solves, in other
lanes, are never touched.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from api.services.errors import Unavailable

T = TypeVar("T")
A = TypeVar("A")
log = logging.getLogger("workshop.solver")
GRACE_SECONDS = 30.0  # worker start-up (imports) and the planner's own overshoot
QUEUE_SECONDS = 120.0  # longest wait for a free worker before answering 503


class _Lane:
    """One worker process that runs one solve at a time."""

    def __init__(self) -> None:
        self._executor: ProcessPoolExecutor | None = None

    def run(self, fn: Callable[[A], T], arg: A, timeout: float) -> T:
        if self._executor is None:
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(1, mp_context=context)
        future: Future[T] = self._executor.submit(fn, arg)
        return future.result(timeout=timeout)

    def replace(self) -> None:
        """Kill this lane's worker (an abandoned solve must not keep a core busy)."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


class SolverPool:
    """Runs solve functions in worker processes; ``processes=0`` runs them in-process.

    Made once per app (``create_app``); workers start on first use and stop at ``shutdown``.
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._free: queue.Queue[_Lane] = queue.Queue()
        self._lanes = [_Lane() for _ in range(processes)]
        for lane in self._lanes:
            self._free.put(lane)
        self._closed = threading.Event()

    def run(self, fn: Callable[[A], T], arg: A, *, time_limit: float) -> T:
        """``fn(arg)`` in a worker; Unavailable if it crashes, overruns its time, or no worker
        comes free in time. Exceptions ``fn`` raises are raised here (they must pickle)."""
        if self.processes == 0:
            return fn(arg)
        if self._closed.is_set():
            raise Unavailable("the service is shutting down; try again")
        try:
            lane = self._free.get(timeout=QUEUE_SECONDS)
        except queue.Empty as exc:
            raise Unavailable("every solver is busy; try again in a minute") from exc
        try:
            return lane.run(fn, arg, time_limit + GRACE_SECONDS)
        except FutureTimeout as exc:
            lane.replace()
            raise Unavailable(f"the solver took longer than {time_limit:g} s; try again") from exc
        except BrokenProcessPool as exc:
            log.error("a solver worker died; it is replaced")
            lane.replace()
            raise Unavailable("the solver crashed; the worker was restarted, try again") from exc
        finally:
            self._free.put(lane)

    def shutdown(self) -> None:
        """Stop the workers; later solves answer Unavailable."""
        self._closed.set()
        for lane in self._lanes:
            lane.shutdown()
