"""Ruin and recreate: improve a dispatch schedule by re-placing a few related bookings at a time.

Take out one customer who waits a lot (or a booking that found no room) together with a few
bookings around it in time, put the chosen customer back first, then the others, each at its
earliest possible place. Keep the change only if fewer bookings are left out or the weighted
wait drops; otherwise put everything back exactly as it was. Nothing outside the removed
bookings moves, so every intermediate schedule stays feasible.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field

from scheduler.dispatch.dispatcher import BookingNotPlaced, Dispatcher, Schedule
from scheduler.domain import UNSCHEDULED_PENALTY_PER_WEIGHT, Booking, Day
from scheduler.plan import Assignment, Unscheduled


def integer_weights(day: Day) -> dict[str, int]:
    """Booking weights scaled by one common factor so that all of them are whole numbers."""
    scale = math.lcm(*(day.weight(b).denominator for b in day.bookings)) if day.bookings else 1
    return {b.id: int(day.weight(b) * scale) for b in day.bookings}


@dataclass(slots=True)
class _State:
    """The schedule being improved, booking by booking, with each booking's (scaled) cost."""

    day: Day
    dispatcher: Dispatcher
    weights: dict[str, int]
    placed: dict[str, list[Assignment]] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)  # booking id -> reason
    costs: dict[str, int] = field(default_factory=dict)

    def _update_cost(self, booking: Booking) -> None:
        weight = self.weights[booking.id]
        if booking.id in self.left_out:
            self.costs[booking.id] = UNSCHEDULED_PENALTY_PER_WEIGHT * weight
        else:
            ready = max(a.end for a in self.placed[booking.id])
            self.costs[booking.id] = weight * self.day.wait(booking, ready)

    def take_out(self, booking: Booking) -> None:
        for a in self.placed.pop(booking.id, []):
            self.dispatcher.release(a)
        self.left_out.pop(booking.id, None)

    def put_back(self, booking: Booking, old: list[Assignment] | None, reason: str | None) -> None:
        if old is not None:
            for a in old:
                self.dispatcher.reserve(a)
            self.placed[booking.id] = old
        else:
            self.left_out[booking.id] = reason or ""
        self._update_cost(booking)

    def insert(self, booking: Booking) -> None:
        try:
            self.placed[booking.id] = self.dispatcher.place(booking)
        except BookingNotPlaced as exc:
            self.left_out[booking.id] = str(exc)
        self._update_cost(booking)


def improve_schedule(
    day: Day,
    schedule: Schedule,
    *,
    iterations: int = 400,
    seconds: float | None = None,
    seed: int = 0,
) -> Schedule:
    """Improve ``schedule`` by ruin and recreate; never returns anything worse.

    Stops after ``iterations`` moves, or earlier after ``seconds`` of wall time if given (a
    run without a time budget is reproducible for a seed).
    """
    assignments, unscheduled = schedule
    if not day.bookings:
        return schedule
    state = _State(day, Dispatcher(day), integer_weights(day))
    for a in assignments:
        state.dispatcher.reserve(a)
        state.placed.setdefault(a.booking, []).append(a)
    state.left_out = {u.booking: u.reason for u in unscheduled}
    for b in day.bookings:
        state._update_cost(b)
    rng = random.Random(seed)
    bookings = sorted(day.bookings, key=lambda b: b.arrival)
    deadline = None if seconds is None else time.perf_counter() + seconds
    for _ in range(iterations):
        if deadline is not None and time.perf_counter() > deadline:
            break
        target = _pick_target(state, bookings, rng)
        group = _related(state, bookings, target, rng)
        _try_move(state, target, group, rng)
    out = [a for items in state.placed.values() for a in items]
    return out, [Unscheduled(b, reason) for b, reason in state.left_out.items()]


def _pick_target(state: _State, bookings: list[Booking], rng: random.Random) -> Booking:
    """A booking left out, or one chosen with probability growing with its weighted wait."""
    if state.left_out and rng.random() < 0.5:
        return state.day.booking(rng.choice(sorted(state.left_out)))
    costs = [state.costs[b.id] + 1 for b in bookings]
    return rng.choices(bookings, weights=costs, k=1)[0]


def _related(
    state: _State, bookings: list[Booking], target: Booking, rng: random.Random
) -> list[Booking]:
    """A few bookings holding the workshop while the target is there (its likely blockers)."""
    start = target.arrival
    end = start + 180
    if target.id in state.placed:
        end = max(end, max(a.end for a in state.placed[target.id]))
    around = [
        b
        for b in bookings
        if b.id != target.id
        and b.id in state.placed
        and any(a.start < end and start < a.end for a in state.placed[b.id])
    ]
    size = rng.randint(2, 8)
    return rng.sample(around, min(size, len(around)))


def _try_move(state: _State, target: Booking, group: list[Booking], rng: random.Random) -> None:
    """Re-place target then group; keep the result only if it is strictly better."""
    everyone = [target, *group]
    before_cost = sum(state.costs[b.id] for b in everyone)
    before_out = sum(1 for b in everyone if b.id in state.left_out)
    saved = {b.id: (state.placed.get(b.id), state.left_out.get(b.id)) for b in everyone}
    for b in everyone:
        state.take_out(b)
    # The target first: that is the point of the move. The others by urgency, with a little
    # randomness so repeated moves on the same spot explore different orders.
    rest = sorted(group, key=lambda b: (not b.waiting, b.arrival + rng.randint(0, 30)))
    for b in (target, *rest):
        state.insert(b)
    after_cost = sum(state.costs[b.id] for b in everyone)
    after_out = sum(1 for b in everyone if b.id in state.left_out)
    if (after_out, after_cost) < (before_out, before_cost):
        return
    for b in everyone:
        state.take_out(b)
    for b in everyone:
        old, reason = saved[b.id]
        state.put_back(b, old, reason)
