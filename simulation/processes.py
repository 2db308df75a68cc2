"""The workshop events of a simulated day, one SimPy process each.

Each process is named after what happens in the workshop (STYLE.md rule 10): a car arrives,
walk-ins arrive, parts are delivered, a technician comes on duty, a bay reopens, a technician
works on a car, the foreman dispatches. They change the floor (:class:`simulation.model.
WorkshopSim`) and call the foreman whenever something he could act on has changed; the foreman
looks once every other event of that minute has happened, so he sees the whole minute at once
(a waiter and a drop-off arriving together are both in the queue when he chooses).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

import simpy

from scheduler.domain import Bay, Technician
from simulation.records import OperationRecord
from simulation.uncertainty import WalkIn

if TYPE_CHECKING:
    from simulation.model import Car, Job, WorkshopSim

Process = Generator[simpy.Event, Any, None]


def car_arrives(env: simpy.Environment, shop: WorkshopSim, car: Car, at: int) -> Process:
    """A booked car drives in at minute ``at`` (its booked time, give or take)."""
    yield env.timeout(at - env.now)
    shop.car_arrives(car)


def walk_ins_arrive(
    env: simpy.Environment, shop: WorkshopSim, walk_ins: Sequence[WalkIn]
) -> Process:
    """Customers without a booking come in through the day (a Poisson process whose rate
    follows the time of day; the times were drawn before the day began)."""
    for walk_in in walk_ins:
        yield env.timeout(walk_in.arrival - env.now)
        shop.walk_in_arrives(walk_in)


def parts_are_delivered(
    env: simpy.Environment, shop: WorkshopSim, sku: str, quantity: int, booked: int, at: int
) -> Process:
    """The parts van booked for minute ``booked`` brings ``quantity`` of ``sku`` at minute
    ``at`` (on time or late)."""
    yield env.timeout(at - env.now)
    shop.shelf[sku].put(quantity)  # the shelf has no limit: the units are on it at once
    shop.parts_arrive(sku, booked, quantity)


def technician_comes_on_duty(
    env: simpy.Environment, shop: WorkshopSim, technician: Technician
) -> Process:
    """The technician starts the shift, or comes back from a break or an absence."""
    for start, _end in technician.working_windows():
        if start > env.now:
            yield env.timeout(start - env.now)
        shop.call_foreman()


def bay_reopens(env: simpy.Environment, shop: WorkshopSim, bay: Bay) -> Process:
    """A bay closed for inspection or cleaning is back in use."""
    for _start, end in sorted(bay.unavailable):
        if end > env.now:
            yield env.timeout(end - env.now)
            shop.call_foreman()


def technician_works_on_car(
    env: simpy.Environment,
    shop: WorkshopSim,
    job: Job,
    technician: str,
    bay: str,
    planned: int,
    minutes: int,
) -> Process:
    """A technician does one operation on a car in a bay, for ``minutes`` real minutes.

    The foreman only sends a car when both are free, so both requests are granted at once;
    holding one while waiting for the other never happens.
    """
    start = int(env.now)
    with (
        shop.technicians[technician].request() as person,
        shop.bays[bay].request() as place,
    ):
        if not (person.triggered and place.triggered):
            raise RuntimeError(f"{technician} or {bay} was double-booked at minute {start}")
        yield person & place
        yield env.timeout(minutes)
    end = int(env.now)
    record = OperationRecord(
        job.booking.id, job.service, job.index, technician, bay, job.ready, start, end, planned
    )
    shop.operation_done(record, job)


def foreman_dispatches(env: simpy.Environment, shop: WorkshopSim) -> Process:
    """Whenever he is called, the foreman lets the queue policy send waiting cars to free
    technicians and bays. He waits for the rest of the minute first (a zero timeout queues
    him behind every event already due now)."""
    while True:
        yield shop.foreman_called()
        yield env.timeout(0)
        shop.reset_call()
        shop.policy.dispatch(shop)
