"""Waiters first: the customer in the lounge before the car that was dropped off."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulation.policies.base import RankingPolicy

if TYPE_CHECKING:
    from simulation.model import Job, WorkshopSim


class WaitersFirst(RankingPolicy):
    """Highest weight first (``priority * waiter_weight`` for a waiter), then first come.

    A waiter waits for every minute until the car is ready, a drop-off only once it is late,
    so the weight of DESIGN.md's objective is the natural priority: with the default waiter
    weight of 2, every waiter goes before every drop-off of the same priority.
    """

    name = "waiters-first"

    def __init__(self) -> None:
        self._weights: dict[str, float] = {}

    def start_day(self, floor: WorkshopSim) -> None:
        """Forget the weights of another day's cars."""
        self._weights = {}

    def key(self, job: Job, floor: WorkshopSim) -> tuple[float, int, int, str]:
        """Minus the weight, then queue-join minute, booked arrival and id."""
        b = job.booking
        weight = self._weights.get(b.id)
        if weight is None:  # exact weights are Fractions: convert once per car, not per look
            weight = self._weights[b.id] = float(floor.day.weight(b))
        return (-weight, job.ready, b.arrival, b.id)
