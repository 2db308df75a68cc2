"""Per-client rate limits, kept in this process: a token bucket per client and kind of request.

Why in-process and not in the database: a slot search is a read that answers in milliseconds
from a cached schedule; counting it in the database would turn every search into a write, and
on SQLite every write waits for the one write lock. The price is that each process counts on
its own, so behind N processes a client gets up to N times the configured rate. That is
acceptable because the number of processes is the operator's choice and small, because the
limits protect each process's CPU (which is exactly what each process's own bucket measures),
and because what must hold across processes, the cap on a client's open holds, is counted in
the database under a lock (``booking.create_hold``), so no number of processes lets a client
starve others of slots.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets: ``per_minute`` requests a minute, in bursts of at most ``per_minute``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[int, str], _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, client_id: int, kind: str, per_minute: int) -> float:
        """Spend one token of the client's ``kind`` bucket: 0.0 if there was one, else the
        seconds until the next one is due (nothing is spent then)."""
        rate = per_minute / 60.0
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get((client_id, kind))
            if bucket is None:
                bucket = self._buckets[(client_id, kind)] = _Bucket(float(per_minute), now)
            bucket.tokens = min(float(per_minute), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / rate
