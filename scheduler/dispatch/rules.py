"""Dispatch rules: how a dispatcher decides who goes first.

Two families, behind one interface (``schedule(day)``):
- booking-order rules take whole bookings one at a time in a fixed order and place each at the
  earliest possible time (the whiteboard, ``fcfs``, is one of them);
- floor rules run the day event by event and, whenever people and bays are free, start the most
  urgent car's next operation (``atc-*``: apparent tardiness cost).
"""

from __future__ import annotations

import math
from typing import Protocol

from scheduler.dispatch.dispatcher import Schedule, dispatch
from scheduler.dispatch.timeline import dispatch_in_time
from scheduler.domain import Booking, Day


class DispatchRule(Protocol):
    """Makes a complete schedule for a day."""

    name: str

    def schedule(self, day: Day) -> Schedule:
        """Assignments and unscheduled bookings for ``day``."""
        ...


class Fcfs:
    """The whiteboard: bookings in arrival order, each at the earliest free technician and bay."""

    name = "fcfs"

    def order(self, day: Day) -> list[Booking]:
        """Bookings by arrival time, then by id."""
        return sorted(day.bookings, key=lambda b: (b.arrival, b.id))

    def schedule(self, day: Day) -> Schedule:
        """Place bookings in arrival order, exactly as they come (no repairs)."""
        return dispatch(day, self.order(day), repairs=0)


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

    def schedule(self, day: Day) -> Schedule:
        """Place bookings in this order, retrying with left-out bookings first."""
        return dispatch(day, self.order(day))


class ApparentTardinessCost:
    """On the floor, start the car with the highest weight per minute of remaining work,
    discounted for drop-offs by how much slack they still have before their promise.

    Index ``w / p * exp(-max(0, slack) / (k * p_avg))`` (Vepsalainen and Morton, 1987): a waiter
    has no slack (every minute counts), a drop-off becomes urgent as its promise approaches.
    Larger ``k`` lets drop-offs compete earlier.
    """

    def __init__(self, k: float) -> None:
        self.k = k
        self.name = f"atc-{k:g}"

    def schedule(self, day: Day) -> Schedule:
        """Dispatch the day event by event with this urgency."""
        ops = [op.minutes for b in day.bookings for _, _, op in day.operations(b)]
        scale = self.k * (sum(ops) / len(ops) if ops else 60.0)

        weights = {b.id: float(day.weight(b)) for b in day.bookings}

        def urgency(booking: Booking, remaining: int, now: int) -> float:
            weight = weights[booking.id]
            work = max(remaining, 1)
            if booking.waiting:
                return weight / work
            slack = day.promised(booking) - now - remaining
            return weight / work * math.exp(-max(0, slack) / scale)

        return dispatch_in_time(day, urgency)


RULES: dict[str, DispatchRule] = {
    rule.name: rule
    for rule in (
        Fcfs(),
        WaitersFirst(),
        ApparentTardinessCost(0.5),
        ApparentTardinessCost(2),
    )
}
