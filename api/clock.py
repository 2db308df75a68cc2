"""Where the service reads the time: injected, so tests move time instead of sleeping."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    """Tells the current instant (an aware datetime)."""

    def now(self) -> dt.datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> dt.datetime:
        """The current instant in UTC."""
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that stands still until moved; for tests and what-if runs."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start

    def now(self) -> dt.datetime:
        """The instant the clock was set to."""
        return self._now

    def set(self, moment: dt.datetime) -> None:
        """Move the clock to ``moment``."""
        self._now = moment

    def advance(self, **delta: float) -> None:
        """Move the clock forward, e.g. ``advance(minutes=6)``."""
        self._now += dt.timedelta(**delta)
