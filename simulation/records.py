"""What happened on a simulated day, written down as it happens: one row per operation.

The foreman's day book (STYLE.md rule 11, after Ciw's ``DataRecord``): every operation carried
out gets one :class:`OperationRecord` (which car, which technician in which bay, when the car was
ready for it, when work started and ended), and every car one :class:`CarRecord` (booked or
walk-in, when it came or that it never did, whether it was finished). Nothing is aggregated
while the day runs; every key figure is computed afterwards from these rows, by the same pure
functions the planner's plans are judged with (:mod:`simulation.outcomes`).
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.plan import Assignment


@dataclass(frozen=True, slots=True)
class OperationRecord:
    """One operation as it was carried out.

    Parameters
    ----------
    booking
        Booking id (``WALKIN-...`` for a walk-in).
    service
        Service code, and ``operation`` the index of the operation within it.
    technician, bay
        Who did it, and where.
    ready
        Minute the car was ready for this operation (arrived, or its previous operation ended):
        the time it joined the queue for it.
    start, end
        Minutes work started and ended; ``end - start`` is the real duration.
    planned_minutes
        The planner's duration, ``ceil(standard minutes * efficiency)`` of this technician.
    """

    booking: str
    service: str
    operation: int
    technician: str
    bay: str
    ready: int
    start: int
    end: int
    planned_minutes: int

    @property
    def queued(self) -> int:
        """Minutes the car waited in the queue for this operation."""
        return self.start - self.ready

    def assignment(self) -> Assignment:
        """The operation as a plan assignment, so plan KPIs and the checker can read it."""
        return Assignment(
            self.start,
            self.end,
            self.booking,
            self.service,
            self.operation,
            self.bay,
            self.technician,
        )


@dataclass(frozen=True, slots=True)
class CarRecord:
    """One car's day: booked or walked in, when it came, whether it was finished.

    Parameters
    ----------
    booking
        Booking id.
    booked_arrival
        The booked arrival minute (a walk-in's own arrival).
    arrival
        Minute the car actually came; ``None`` for a no-show.
    walk_in
        Whether the customer came without a booking.
    finished
        Minute its last operation ended, or ``None`` if it was not finished by the end of the
        day (left over) or never came.
    """

    booking: str
    booked_arrival: int
    arrival: int | None
    walk_in: bool
    finished: int | None

    @property
    def no_show(self) -> bool:
        """Whether the booked car never came."""
        return self.arrival is None
