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

    def earliest(self, ready: int, quantity: int) -> int | None:
        """Earliest ``s >= ready`` at which ``quantity`` more units can be taken, or None."""
        events: dict[int, int] = {0: self.part.on_hand}
        for at, qty in self.part.deliveries:
            events[at] = events.get(at, 0) + qty
        for at, qty in self.takes:
            events[at] = events.get(at, 0) - qty
        times = sorted(events)
        slack, slacks = 0, []
        for at in times:
            slack += events[at]
            slacks.append(slack)
        # The earliest feasible start is where the smallest slack from then on reaches quantity.
        answer: int | None = None
        suffix_min = slacks[-1]
        if suffix_min < quantity:
            return None
        for k in range(len(times) - 1, -1, -1):
            suffix_min = min(suffix_min, slacks[k])
            if suffix_min < quantity:
                break
            answer = times[k]
        if answer is None:
            return None
        return max(ready, answer)

    def take(self, minute: int, quantity: int) -> None:
        """Record that ``quantity`` units are taken at ``minute``."""
        bisect.insort(self.takes, (minute, quantity))

    def untake(self, minute: int, quantity: int) -> None:
        """Undo ``take(minute, quantity)``."""
        self.takes.remove((minute, quantity))

    def left(self) -> int:
        """Units not yet promised to any operation by the end of the day."""
        return self.part.total - sum(q for _, q in self.takes)
