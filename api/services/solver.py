"""The solver pool: plans are made in worker processes, never in a request's transaction.

A long or crashing solve must not block other requests or hold database locks, so solves run
in a process pool (spawned, not forked: the server has threads and open connections). A solve
that overruns its time limit plus a grace period is abandoned and its worker replaced; a pool
broken by a crashed worker is rebuilt for the next request.
"""

from __future__ import annotations

import logging
import multiprocessing
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


class SolverPool:
    """Runs solve functions in worker processes; ``processes=0`` runs them in-process."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(self.processes, mp_context=context)
            return self._pool

    def _reset(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()  # an abandoned solve must not keep a core busy
        pool.shutdown(wait=False, cancel_futures=True)

    def run(self, fn: Callable[[A], T], arg: A, *, time_limit: float) -> T:
        """``fn(arg)`` in a worker; Unavailable if it crashes or overruns its time."""
        if self.processes == 0:
            return fn(arg)
        pool = self._get()
        try:
            future: Future[T] = pool.submit(fn, arg)
            return future.result(timeout=time_limit + GRACE_SECONDS)
        except FutureTimeout as exc:
            self._reset(pool)
            raise Unavailable(f"the solver took longer than {time_limit:g} s; try again") from exc
        except BrokenProcessPool as exc:
            log.error("a solver worker died; the pool is rebuilt")
            self._reset(pool)
            raise Unavailable("the solver crashed; the pool was restarted, try again") from exc

    def shutdown(self) -> None:
        """Stop the workers."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
