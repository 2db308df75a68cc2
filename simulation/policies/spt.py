"""Shortest processing time first: quick jobs jump the queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulation.policies.base import RankingPolicy

if TYPE_CHECKING:
    from simulation.model import Job, WorkshopSim


class ShortestProcessingTime(RankingPolicy):
    """The waiting operation with the fewest standard minutes goes first.

    The classic rule that minimises the mean wait on one server (Smith's rule with equal
    weights); long jobs can wait a long time behind a stream of short ones. Ties go first
    come, first served.
    """

    name = "spt"

    def key(self, job: Job, floor: WorkshopSim) -> tuple[int, int, int, str]:
        """Standard minutes, then queue-join minute, booked arrival and id."""
        return (job.operation.minutes, job.ready, job.booking.arrival, job.booking.id)
