"""Lower bounds on the objective that hold for every plan, so a plan's gap means something.

A waiter waits at least as long as the work itself takes on the fastest qualified technicians;
a drop-off is late at least by how much that work overruns its promise. A booking no technician
on shift can serve must be left out and costs its full penalty.
"""

from __future__ import annotations

from fractions import Fraction

from scheduler.domain import UNSCHEDULED_PENALTY_PER_WEIGHT, Booking, Day


def fastest_work(day: Day, booking: Booking) -> int | None:
    """Minutes of the booking's work on the fastest qualified technicians on shift, or None."""
    total = 0
    for _, _, op in day.operations(booking):
        durations = [
            t.duration(op)
            for t in day.workshop.technicians
            if op.skill in t.skills and t.working_windows()
        ]
        kinds_ok = any(op.bay in b.kinds for b in day.workshop.bays)
        if not durations or not kinds_ok:
            return None
        total += min(durations)
    return total


def critical_path_bound(day: Day) -> Fraction:
    """Sum over bookings of the least weighted wait each could have on an empty workshop."""
    bound = Fraction(0)
    for booking in day.bookings:
        work = fastest_work(day, booking)
        weight = day.weight(booking)
        if work is None:
            bound += UNSCHEDULED_PENALTY_PER_WEIGHT * weight
        else:
            # Waits never exceed a day, far below the penalty, so a wait is the cheaper choice.
            bound += weight * day.wait(booking, booking.arrival + work)
    return bound
