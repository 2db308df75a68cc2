"""The solver pool: a solve's time limit counts its own run time, and a solve that overruns
takes down only its own worker, never another request's."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from api.services import solver
from api.services.errors import Unavailable
from api.services.solver import SolverPool


@pytest.fixture
def short_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """A second of grace: the planner's own overshoot is not what is tested here."""
    monkeypatch.setattr(solver, "GRACE_SECONDS", 1.0)


def _in_thread(
    pool: SolverPool, seconds: float, limit: float
) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(pool.run(time.sleep, seconds, time_limit=limit))
        except Exception as exc:
            out.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def test_waiting_for_a_free_worker_does_not_count_against_the_time_limit(
    short_grace: None,
) -> None:
    pool = SolverPool(1)
    try:
        first, first_out = _in_thread(pool, 2.5, limit=30)
        time.sleep(0.3)  # the first solve holds the only worker
        # 0.2 s of solving after 2+ s in the queue: within its limit of 0.5 + 1 s.
        assert pool.run(time.sleep, 0.2, time_limit=0.5) is None
        first.join()
        assert first_out == [None]
    finally:
        pool.shutdown()


def test_a_solve_that_overruns_kills_only_its_own_worker(short_grace: None) -> None:
    pool = SolverPool(2)
    try:
        other, other_out = _in_thread(pool, 4.0, limit=30)
        time.sleep(0.5)
        started = time.monotonic()
        with pytest.raises(Unavailable, match="longer than"):
            pool.run(time.sleep, 60.0, time_limit=0.5)
        assert time.monotonic() - started < 10
        other.join()
        assert other_out == [None]  # the other request's solve finished undisturbed
        assert pool.run(time.sleep, 0.1, time_limit=5) is None  # the lane was replaced
    finally:
        pool.shutdown()
