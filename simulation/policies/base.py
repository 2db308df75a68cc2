"""The queue-policy interface: how the foreman decides which waiting car goes next.

Every policy is a small class with a ``name``, a ``start_day`` hook and a ``dispatch`` method
(STYLE.md rule 8, after PyVRP's stopping criteria). ``dispatch`` is called whenever something
on the floor changed; it looks at the waiting cars and free technicians and bays through the
floor (:class:`simulation.model.WorkshopSim`) and starts operations with ``floor.start``. The
floor enforces the hard rules (skills, bay kinds, shifts, breaks, parts), so a policy only
decides *order* and *who goes where*.

Most policies are a ranking of the queue (:class:`RankingPolicy`): walk down the waiting cars
in order and send each to the technician and bay that would finish it first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from simulation.model import Job, WorkshopSim


@runtime_checkable
class QueuePolicy(Protocol):
    """Decides which waiting car goes next, to which technician and bay."""

    name: str

    def start_day(self, floor: WorkshopSim) -> None:
        """Called once before the day begins; reset any state kept from another day."""
        ...

    def dispatch(self, floor: WorkshopSim) -> None:
        """Start whatever should start now, with ``floor.start(job, technician, bay)``."""
        ...


def start_in_order(floor: WorkshopSim, jobs: Iterable[Job]) -> None:
    """Send each job, in the given order, to the free technician and bay that finish it first.

    A job that cannot start now (no qualified technician free long enough, no matching bay,
    parts not on the shelf) stays in the queue and the next one is tried, so a car that must
    wait never blocks one behind it that could go (no idle lift while a car it suits waits).
    """
    for job in jobs:
        if not floor.anyone_idle():
            return
        pair = floor.best_pair(job)
        if pair is not None:
            floor.start(job, pair[0].id, pair[1].id)


class RankingPolicy:
    """A policy that ranks the queue and sends cars in that order (subclasses give ``key``)."""

    name = "ranking"

    def start_day(self, floor: WorkshopSim) -> None:
        """Nothing to prepare: the ranking reads only the queue."""

    def key(self, job: Job, floor: WorkshopSim) -> Any:
        """Sort key of a waiting job; smaller goes first."""
        raise NotImplementedError

    def dispatch(self, floor: WorkshopSim) -> None:
        """Send waiting cars in ranking order to the best free technician and bay."""
        jobs = floor.waiting()
        if jobs:
            jobs.sort(key=lambda job: self.key(job, floor))
            start_in_order(floor, jobs)
