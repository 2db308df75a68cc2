"""First come, first served: the whiteboard."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulation.policies.base import RankingPolicy

if TYPE_CHECKING:
    from simulation.model import Job, WorkshopSim


class FirstComeFirstServed(RankingPolicy):
    """Cars in the order they joined the queue for their next operation.

    Ties (two cars in the same minute) go by booked arrival, then booking id, so the order is
    always the same.
    """

    name = "fcfs"

    def key(self, job: Job, floor: WorkshopSim) -> tuple[int, int, str]:
        """Queue-join minute, booked arrival, booking id."""
        return (job.ready, job.booking.arrival, job.booking.id)
