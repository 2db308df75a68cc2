"""Dispatch rules: the order in which a dispatcher takes the day's bookings.

Each rule is a small class with a ``name`` and an ``order(day)`` method, so planners, the
simulation and benchmarks can swap them freely.
"""

from __future__ import annotations

from typing import Protocol

from scheduler.domain import Booking, Day


class DispatchRule(Protocol):
    """Decides the order in which bookings are placed."""

    name: str

    def order(self, day: Day) -> list[Booking]:
        """The bookings of ``day`` in the order they should be placed."""
        ...


def standard_minutes(day: Day, booking: Booking) -> int:
    """The booking's total standard work, before technician efficiency."""
    return sum(op.minutes for _, _, op in day.operations(booking))


class Fcfs:
    """The whiteboard: first come, first served, in order of arrival."""

    name = "fcfs"

    def order(self, day: Day) -> list[Booking]:
        """Bookings by arrival time, then by id."""
        return sorted(day.bookings, key=lambda b: (b.arrival, b.id))


class WaitersFirst:
    """Waiters by arrival (heaviest first at equal arrival), then drop-offs by promised time.

    A waiter waits for every minute until the car is ready, a drop-off only once it is late, so
    waiters get the first pick of technicians and bays and drop-offs fill around them.
    """

    name = "waiters-first"

    def order(self, day: Day) -> list[Booking]:
        """Waiters first, then drop-offs earliest-due first."""
        return sorted(
            day.bookings,
            key=lambda b: (
                not b.waiting,
                b.arrival if b.waiting else day.promised(b),
                -day.weight(b),
                b.arrival,
                b.id,
            ),
        )


class LatestStart:
    """By the latest moment work can start without the customer waiting, heaviest first.

    A waiter's latest start is its arrival; a drop-off's is its promised time minus its work.
    """

    name = "latest-start"

    def order(self, day: Day) -> list[Booking]:
        """Bookings by latest waiting-free start time, ties by weight."""

        def latest_start(b: Booking) -> int:
            if b.waiting:
                return b.arrival
            return max(b.arrival, day.promised(b) - standard_minutes(day, b))

        return sorted(day.bookings, key=lambda b: (latest_start(b), -day.weight(b), b.id))


class WeightedShortestFirst:
    """Waiters first by weight per minute of work (WSPT), drop-offs after by promised time.

    Among waiters who are all in the lounge, short heavy jobs first minimise the weighted sum of
    waits (Smith's rule); applied within each hour of arrival so no one is pushed back all day.
    """

    name = "wspt"

    def order(self, day: Day) -> list[Booking]:
        """Waiters by arrival hour then weight per minute of work; then drop-offs by due time."""
        return sorted(
            day.bookings,
            key=lambda b: (
                not b.waiting,
                b.arrival // 60 if b.waiting else day.promised(b),
                -(day.weight(b) / standard_minutes(day, b)),
                b.arrival,
                b.id,
            ),
        )


RULES: dict[str, DispatchRule] = {
    rule.name: rule for rule in (Fcfs(), WaitersFirst(), LatestStart(), WeightedShortestFirst())
}
