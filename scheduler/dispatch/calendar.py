"""Busy calendars of technicians, bays and the parts store, as a dispatcher fills the day.

A dispatcher places one operation at a time at the earliest moment a qualified technician and a
matching bay are both free and the parts are on the shelf. These calendars answer "when is the
earliest start from here" and remember each placement so it can be undone when a later operation
of the same booking cannot be placed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from scheduler.domain import MINUTES_PER_DAY, Part, Window, merge_windows


@dataclass(slots=True)
class Calendar:
    """Busy time of one resource: disjoint, sorted ``[start, end)`` intervals."""

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

    @classmethod
    def blocked(cls, windows: tuple[Window, ...]) -> Calendar:
        """A calendar that starts the day with ``windows`` already busy."""
        merged = merge_windows(windows)
        return cls([s for s, _ in merged], [e for _, e in merged])

    def earliest(self, ready: int, duration: int) -> int | None:
        """Earliest ``s >= ready`` with ``[s, s + duration)`` free, or None within the day."""
        start = ready
        i = bisect.bisect_right(self.ends, start)
        while i < len(self.starts) and self.starts[i] < start + duration:
            start = max(start, self.ends[i])
            i += 1
        return start if start + duration <= MINUTES_PER_DAY else None

    def free(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` overlaps nothing busy."""
        i = bisect.bisect_right(self.ends, start)
        return i >= len(self.starts) or self.starts[i] >= end

    def next_end(self, now: int) -> int | None:
        """The end of the first busy interval that ends after ``now``, or None."""
        i = bisect.bisect_right(self.ends, now)
        return self.ends[i] if i < len(self.ends) else None

    def occupy(self, start: int, end: int) -> None:
        """Mark ``[start, end)`` busy; it must be free."""
        i = bisect.bisect_right(self.ends, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)

    def release(self, start: int, end: int) -> None:
        """Undo ``occupy(start, end)``."""
        i = bisect.bisect_left(self.starts, start)
        if i < len(self.starts) and self.starts[i] == start and self.ends[i] == end:
            del self.starts[i]
            del self.ends[i]
        else:
            raise KeyError((start, end))

    def busy_within(self, start: int, end: int) -> int:
        """Minutes of ``[start, end)`` that are busy."""
        i = bisect.bisect_right(self.ends, start)
        total = 0
        while i < len(self.starts) and self.starts[i] < end:
            total += min(end, self.ends[i]) - max(start, self.starts[i])
            i += 1
        return total


@dataclass(slots=True)
class Stock:
    """One part's shelf over the day: what has arrived and what operations have taken.

    Parts are taken when an operation starts. A take at minute ``s`` is allowed only if at every
    moment from ``s`` on, the running total taken stays within what has arrived by then, so a
    later take never steals units an earlier-placed operation relies on.
    """

    part: Part
    takes: list[tuple[int, int]] = field(default_factory=list)  # (minute, quantity), sorted
    _times: list[int] | None = None  # event minutes, rebuilt lazily after each change
    _suffix_min: list[int] | None = None  # smallest slack from each event minute on

    def earliest(self, ready: int, quantity: int) -> int | None:
        """Earliest ``s >= ready`` at which ``quantity`` more units can be taken, or None."""
        if self._times is None:
            self._index()
        assert self._times is not None and self._suffix_min is not None
        # The smallest slack from a moment on never decreases as the moment moves later, so
        # the first moment where it reaches ``quantity`` is found by bisection.
        k = bisect.bisect_left(self._suffix_min, quantity)
        if k == len(self._times):
            return None
        return max(ready, self._times[k])

    def _index(self) -> None:
        events: dict[int, int] = {0: self.part.on_hand}
        for at, qty in self.part.deliveries:
            events[at] = events.get(at, 0) + qty
        for at, qty in self.takes:
            events[at] = events.get(at, 0) - qty
        times = sorted(events)
        slacks, slack = [], 0
        for at in times:
            slack += events[at]
            slacks.append(slack)
        suffix = slacks[:]
        for k in range(len(suffix) - 2, -1, -1):
            suffix[k] = min(suffix[k], suffix[k + 1])
        self._times, self._suffix_min = times, suffix

    def take(self, minute: int, quantity: int) -> None:
        """Record that ``quantity`` units are taken at ``minute``."""
        bisect.insort(self.takes, (minute, quantity))
        self._times = self._suffix_min = None

    def untake(self, minute: int, quantity: int) -> None:
        """Undo ``take(minute, quantity)``."""
        self.takes.remove((minute, quantity))
        self._times = self._suffix_min = None

    def left(self) -> int:
        """Units not yet promised to any operation by the end of the day."""
        return self.part.total - sum(q for _, q in self.takes)
