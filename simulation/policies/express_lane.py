"""An express lane: technicians and bays kept for short jobs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from scheduler.domain import Bay, Technician

if TYPE_CHECKING:
    from simulation.model import Job, WorkshopSim


class ExpressLane:
    """Dedicated technicians and bays serve only short jobs; everything else first come.

    A car is *express* when all its booked work is at most ``max_minutes`` standard minutes
    (a puncture, a battery check). Express cars go to a lane technician in a lane bay when one
    is free, else they queue with everyone for the other technicians and bays (overflow).
    Other cars never use the lane, so a short job never waits behind a clutch replacement,
    at the price of lane capacity that can stand idle while long jobs queue.

    Parameters
    ----------
    max_minutes
        Longest total standard minutes of an express car. Default 45.
    technicians, bays
        Ids of the lane's technicians and bays (at least one of each).

    Raises
    ------
    ValueError
        If ``max_minutes`` is not positive or the lane has no technician or no bay.
    """

    name = "express-lane"

    def __init__(
        self, max_minutes: int = 45, technicians: Sequence[str] = (), bays: Sequence[str] = ()
    ) -> None:
        if max_minutes <= 0:
            raise ValueError(f"express lane max_minutes must be positive, got {max_minutes}")
        if not technicians or not bays:
            raise ValueError("an express lane needs at least one technician and one bay")
        self.max_minutes = max_minutes
        self.technicians = tuple(technicians)
        self.bays = tuple(bays)
        self._lane_techs: list[Technician] = []
        self._lane_bays: list[Bay] = []
        self._other_techs: set[str] = set()
        self._other_bays: set[str] = set()

    def start_day(self, floor: WorkshopSim) -> None:
        """Find the lane's technicians and bays in the workshop.

        Raises
        ------
        ValueError
            If a lane technician or bay is not in the workshop.
        """
        ws = floor.day.workshop
        tech_ids = {t.id for t in ws.technicians}
        bay_ids = {b.id for b in ws.bays}
        for ident in self.technicians:
            if ident not in tech_ids:
                raise ValueError(f"express lane technician {ident!r} is not in the workshop")
        for ident in self.bays:
            if ident not in bay_ids:
                raise ValueError(f"express lane bay {ident!r} is not in the workshop")
        self._lane_techs = [t for t in ws.technicians if t.id in self.technicians]
        self._lane_bays = [b for b in ws.bays if b.id in self.bays]
        self._other_techs = tech_ids - set(self.technicians)
        self._other_bays = bay_ids - set(self.bays)

    def is_express(self, job: Job) -> bool:
        """Whether the job's car has at most ``max_minutes`` of booked work in all."""
        return sum(op.minutes for _, _, op in job.car.operations) <= self.max_minutes

    def dispatch(self, floor: WorkshopSim) -> None:
        """Express cars to the lane first; then everyone, first come, to the other resources."""
        jobs = floor.waiting()
        if not jobs:
            return
        jobs.sort(key=lambda j: (j.ready, j.booking.arrival, j.booking.id))
        for job in jobs:
            express = self.is_express(job)
            pair = None
            if express:
                pair = floor.best_pair(job, self._lane_techs, self._lane_bays)
            if pair is None:
                techs = [
                    t for t in floor.technicians_for(job.operation) if t.id in self._other_techs
                ]
                bays = [b for b in floor.bays_for(job.operation) if b.id in self._other_bays]
                pair = floor.best_pair(job, techs, bays)
            if pair is not None:
                floor.start(job, pair[0].id, pair[1].id)
