"""The workshop floor for one simulated day: lifts and bays, technicians, the parts shelf.

Picture the service department at 07:30. Booked cars come in (a few early, a few late, the odd
one never), customers walk in without a booking, and each car waits in the yard until the
foreman sends it to a bay with a technician who has the right skill. A job takes about its
standard minutes (the apprentice a quarter longer), sometimes much more. Technicians work their
shifts and take their breaks; the parts van comes, sometimes late. Which waiting car goes
next, and to whom, is the *queue policy* (:mod:`simulation.policies`): first come first served,
waiters first, an express lane, or following the planner's optimised plan.

How it is simulated
-------------------
SimPy runs the day minute by minute on integer minutes, like the planner. The physical things
are SimPy resources: each technician and each bay is a ``Resource`` of capacity one, each part
a ``Container`` on the shelf. The workshop events are processes in :mod:`simulation.processes`
(a car arrives, walk-ins arrive, parts are delivered, a technician comes on duty, a bay reopens,
a technician works on a car, the foreman dispatches). An operation needs a qualified technician
and a matching bay *at once*: the foreman only sends a car when both are free, so the requests
for the two are granted together and nothing is ever held while waiting for the other.

The foreman only starts an operation whose planned duration fits before the technician's next
break, absence or end of shift, and in a bay that is not closed meanwhile, exactly the rules a
plan obeys. A job that overruns is finished anyway: it eats into the break or becomes overtime.
With no randomness at all the day therefore obeys every hard rule of DESIGN.md, which the tests
check with :func:`scheduler.checker.check_plan` on every simulated schedule.

Everything random is drawn before the day starts (:func:`simulation.uncertainty.draw_day`), one
stream per source, so base and variant of a what-if share their luck. Each operation and each
car leaves one record row (:mod:`simulation.records`); key figures are computed from them
afterwards (:mod:`simulation.outcomes`).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING

import simpy

from scheduler.domain import Bay, Booking, Day, Operation, Technician
from scheduler.plan import Plan, PlanStatus, Unscheduled, objective_parts
from simulation.outcomes import day_kpis
from simulation.records import CarRecord, OperationRecord
from simulation.uncertainty import (
    DayDraws,
    FloatArray,
    Uncertainty,
    WalkIn,
    actual_minutes,
    draw_day,
    walk_in_booking,
)

if TYPE_CHECKING:
    from simulation.policies.base import QueuePolicy


class PolicyError(RuntimeError):
    """A queue policy asked for something the floor does not allow (a bug in the policy)."""


@dataclass(slots=True, eq=False)
class Car:
    """A car on the day: booked or walked in, and how far its work has got.

    ``ready_at`` is the minute its next operation could start (it arrived, or the previous
    operation ended); ``None`` while it is not on site or is being worked on.
    """

    booking: Booking
    walk_in: bool
    operations: tuple[tuple[str, int, Operation], ...]
    normals: FloatArray
    arrival: int | None = None
    next: int = 0
    ready_at: int | None = None
    in_work: bool = False
    finished: int | None = None
    records: list[OperationRecord] = field(default_factory=list)

    @property
    def here(self) -> bool:
        """Whether the car has arrived."""
        return self.arrival is not None

    @property
    def remaining_minutes(self) -> int:
        """Standard minutes of the operations not yet started."""
        return sum(op.minutes for _, _, op in self.operations[self.next :])


@dataclass(frozen=True, slots=True, eq=False)
class Job:
    """A car waiting for its next operation: what a queue policy chooses among.

    Parameters
    ----------
    car
        The car.
    service, index, operation
        The operation it waits for: service code, index within the service, the operation.
    ready
        Minute the car joined the queue for this operation.
    """

    car: Car
    service: str
    index: int
    operation: Operation
    ready: int

    @property
    def booking(self) -> Booking:
        """The car's booking."""
        return self.car.booking


@dataclass(frozen=True, slots=True)
class Underway:
    """An operation being worked on now: by whom, where, since when, planned for how long."""

    job: Job
    technician: str
    bay: str
    start: int
    planned: int


@dataclass(frozen=True)  # no slots: the plans are cached on the instance
class SimulatedDay:
    """One simulated day, as recorded.

    Parameters
    ----------
    booked
        The day as booked (after any what-if changes).
    day
        The day as it happened: the cars that came (walk-ins included), at the minutes they
        came. A drop-off that came after its promised time is promised for its arrival.
    operations
        One row per operation carried out, in start order.
    cars
        One row per car, booked ones first (no-shows included), then walk-ins.
    replans
        How often the policy re-planned during the day.
    """

    booked: Day
    day: Day
    operations: tuple[OperationRecord, ...]
    cars: tuple[CarRecord, ...]
    replans: int = 0

    @cached_property
    def plan(self) -> Plan:
        """The finished cars' operations as a plan; cars left over are unscheduled.

        With deterministic durations it obeys every hard rule of DESIGN.md.
        """
        finished = {c.booking for c in self.cars if c.finished is not None}
        came = [c for c in self.cars if c.arrival is not None]
        return Plan.build(
            self.day,
            (r.assignment() for r in self.operations if r.booking in finished),
            (
                Unscheduled(c.booking, "not finished by the end of the day")
                for c in came
                if c.finished is None
            ),
            status=PlanStatus.HEURISTIC,
        )

    @cached_property
    def worked(self) -> Plan:
        """Every operation carried out, finished cars or not (for utilization and overtime)."""
        assignments = tuple(sorted(r.assignment() for r in self.operations))
        parts = objective_parts(self.day, (), ())
        return Plan(PlanStatus.HEURISTIC, assignments, (), Fraction(0), parts)

    def kpis(self) -> dict[str, float]:
        """The day's key figures (:data:`simulation.outcomes.KPIS`)."""
        return day_kpis(self.day, self.plan, self.worked)


class WorkshopSim:
    """The workshop floor during one simulated day: what the foreman and the policies see.

    Parameters
    ----------
    day
        The day as booked.
    policy
        Decides which waiting car goes next, to whom and where.
    uncertainty
        How much the real day differs from the booked one.
    draws
        This replication's random draws (:func:`simulation.uncertainty.draw_day`).
    """

    def __init__(
        self, day: Day, policy: QueuePolicy, uncertainty: Uncertainty, draws: DayDraws
    ) -> None:
        self.day = day
        self.policy = policy
        self.uncertainty = uncertainty
        self.draws = draws
        self.env = simpy.Environment()
        ws = day.workshop
        # The physical things: one person, one bay, one bin on the shelf per part.
        self.technicians = {t.id: simpy.Resource(self.env, capacity=1) for t in ws.technicians}
        self.bays = {b.id: simpy.Resource(self.env, capacity=1) for b in ws.bays}
        self.shelf = {
            sku: simpy.Container(self.env, init=part.on_hand) for sku, part in ws.parts.items()
        }
        self._techs = {t.id: t for t in ws.technicians}
        self._bays = {b.id: b for b in ws.bays}
        self._windows = {
            t.id: ([s for s, _ in t.working_windows()], [e for _, e in t.working_windows()])
            for t in ws.technicians
        }
        self._tech_busy = dict.fromkeys(self._techs, False)
        self._bay_busy = dict.fromkeys(self._bays, False)
        self._idle = [len(self._techs), len(self._bays)]  # idle technicians, empty bays
        # Candidates per skill and kind, least versatile first (keeps specialists free), as
        # the planner's dispatcher orders them.
        self._by_skill: dict[str, list[Technician]] = {}
        for tech in sorted(ws.technicians, key=lambda t: (len(t.skills), t.id)):
            for skill in tech.skills:
                self._by_skill.setdefault(skill, []).append(tech)
        self._by_kind: dict[str, list[Bay]] = {}
        for bay in sorted(ws.bays, key=lambda b: (len(b.kinds), b.id)):
            for kind in bay.kinds:
                self._by_kind.setdefault(kind, []).append(bay)
        self.cars: list[Car] = [
            Car(b, False, tuple(day.operations(b)), draws.duration_normals[i])
            for i, b in enumerate(day.bookings)
        ]
        self.operations: list[OperationRecord] = []
        self.underway: dict[str, Underway] = {}
        self.pending_deliveries: list[tuple[str, int, int]] = [
            (sku, at, qty) for sku, part in ws.parts.items() for at, qty in part.deliveries
        ]
        self.replans = 0
        self._wake = self.env.event()
        self._wake_times: set[int] = set()

    # -- time and the foreman -----------------------------------------------------------------

    @property
    def now(self) -> int:
        """The current minute."""
        return int(self.env.now)

    def call_foreman(self) -> None:
        """Something changed on the floor: the foreman looks again before the minute is out."""
        if not self._wake.triggered:
            self._wake.succeed()

    def foreman_called(self) -> simpy.Event:
        """The event the foreman waits on; a new one is made once he has been called."""
        return self._wake

    def reset_call(self) -> None:
        """The foreman is about to look: later changes call him again."""
        self._wake = self.env.event()

    def wake_at(self, minute: int) -> None:
        """Have the foreman look at the floor at ``minute`` (a policy's appointment)."""
        if minute <= self.now or minute in self._wake_times:
            return
        self._wake_times.add(minute)
        timer = self.env.timeout(minute - self.now)
        timer.callbacks.append(lambda _event: self.call_foreman())

    # -- what the foreman sees ----------------------------------------------------------------

    def waiting(self) -> list[Job]:
        """Cars on site whose next operation could start now, in arrival order."""
        now = self.now
        jobs = []
        for car in self.cars:
            if car.ready_at is not None and car.ready_at <= now and not car.in_work:
                code, index, op = car.operations[car.next]
                jobs.append(Job(car, code, index, op, car.ready_at))
        return jobs

    def planned_minutes(self, technician: Technician, operation: Operation) -> int:
        """The planner's duration of ``operation`` for ``technician``."""
        return technician.duration(operation)

    def technician_free(self, technician: Technician, minutes: int) -> bool:
        """Whether ``technician`` is idle and on duty with ``minutes`` of work fitting before
        the next break, absence or end of shift."""
        if self._tech_busy[technician.id]:
            return False
        starts, ends = self._windows[technician.id]
        now = self.now
        k = bisect.bisect_right(starts, now) - 1
        return k >= 0 and now + minutes <= ends[k]

    def bay_free(self, bay: Bay, minutes: int) -> bool:
        """Whether ``bay`` is empty and stays open for the next ``minutes``."""
        if self._bay_busy[bay.id]:
            return False
        now = self.now
        return not any(s < now + minutes and now < e for s, e in bay.unavailable)

    def anyone_idle(self) -> bool:
        """Whether some technician is idle and some bay empty (else nothing can start)."""
        return self._idle[0] > 0 and self._idle[1] > 0

    def parts_on_shelf(self, operation: Operation) -> bool:
        """Whether every part ``operation`` needs is on the shelf now."""
        return all(self.shelf[sku].level >= qty for sku, qty in operation.parts.items())

    def technicians_for(self, operation: Operation) -> Sequence[Technician]:
        """Technicians with the operation's skill, least versatile first."""
        return self._by_skill.get(operation.skill, ())

    def bays_for(self, operation: Operation) -> Sequence[Bay]:
        """Bays of the operation's kind, least versatile first."""
        return self._by_kind.get(operation.bay, ())

    def can_start(self, job: Job, technician_id: str, bay_id: str) -> bool:
        """Whether ``job`` may start now with this technician in this bay."""
        tech, bay = self._techs.get(technician_id), self._bays.get(bay_id)
        car, op = job.car, job.operation
        if tech is None or bay is None or car.in_work or car.ready_at is None:
            return False
        if car.ready_at > self.now or car.operations[car.next][2] is not op:
            return False
        if op.skill not in tech.skills or op.bay not in bay.kinds:
            return False
        minutes = tech.duration(op)
        return (
            self.technician_free(tech, minutes)
            and self.bay_free(bay, minutes)
            and self.parts_on_shelf(op)
        )

    def best_pair(
        self,
        job: Job,
        technicians: Sequence[Technician] | None = None,
        bays: Sequence[Bay] | None = None,
    ) -> tuple[Technician, Bay] | None:
        """The free technician and bay that would finish ``job`` first, or None.

        At equal finish the car's preferred technician wins, then the least versatile
        technician and bay, as the planner's dispatcher chooses. ``technicians`` and ``bays``
        narrow the choice (an express lane); by default every qualified one is considered.
        """
        if not self.anyone_idle():
            return None
        op = job.operation
        if not self.parts_on_shelf(op):
            return None
        techs = self.technicians_for(op) if technicians is None else technicians
        places = self.bays_for(op) if bays is None else bays
        best: tuple[tuple[int, int, int], Technician, Bay] | None = None
        for rank_t, tech in enumerate(techs):
            if op.skill not in tech.skills:
                continue
            minutes = tech.duration(op)
            if not self.technician_free(tech, minutes):
                continue
            for rank_b, bay in enumerate(places):
                if op.bay in bay.kinds and self.bay_free(bay, minutes):
                    preferred = 0 if job.booking.technician == tech.id else 1
                    key = (minutes, preferred, rank_t * 1000 + rank_b)
                    if best is None or key < best[0]:
                        best = (key, tech, bay)
                    break
        return None if best is None else (best[1], best[2])

    # -- what the foreman does ----------------------------------------------------------------

    def start(self, job: Job, technician_id: str, bay_id: str) -> None:
        """Send ``job``'s car to ``bay_id`` with ``technician_id`` now.

        Raises
        ------
        PolicyError
            If the technician, the bay or the parts are not free, or the car is not ready.
        """
        from simulation.processes import technician_works_on_car

        if not self.can_start(job, technician_id, bay_id):
            raise PolicyError(
                f"policy {self.policy.name!r} tried to start {job.booking.id} "
                f"{job.service}#{job.index} with {technician_id} in {bay_id} at minute "
                f"{self.now}, which the floor does not allow"
            )
        tech = self._techs[technician_id]
        car, op = job.car, job.operation
        for sku, qty in op.parts.items():
            self.shelf[sku].get(qty)  # the level was checked: taken at once
        self._tech_busy[technician_id] = True
        self._bay_busy[bay_id] = True
        self._idle[0] -= 1
        self._idle[1] -= 1
        car.in_work = True
        planned = tech.duration(op)
        self.underway[car.booking.id] = Underway(job, technician_id, bay_id, self.now, planned)
        minutes = actual_minutes(
            planned, float(car.normals[car.next]), self.uncertainty.duration_spread
        )
        self.env.process(
            technician_works_on_car(self.env, self, job, technician_id, bay_id, planned, minutes)
        )

    def operation_done(self, record: OperationRecord, job: Job) -> None:
        """Book an operation as done: free its technician and bay, move the car on."""
        self.operations.append(record)
        del self.underway[record.booking]
        self._tech_busy[record.technician] = False
        self._bay_busy[record.bay] = False
        self._idle[0] += 1
        self._idle[1] += 1
        car = job.car
        car.records.append(record)
        car.in_work = False
        car.next += 1
        if car.next == len(car.operations):
            car.finished = record.end
            car.ready_at = None
        else:
            car.ready_at = record.end
        self.call_foreman()

    def parts_arrive(self, sku: str, booked_at: int, quantity: int) -> None:
        """A delivery booked for ``booked_at`` is on the shelf (its units were put there)."""
        self.pending_deliveries.remove((sku, booked_at, quantity))
        self.call_foreman()

    def car_arrives(self, car: Car) -> None:
        """The car is on site and joins the queue for its first operation."""
        car.arrival = self.now
        car.ready_at = self.now
        self.call_foreman()

    def walk_in_arrives(self, walk_in: WalkIn) -> Car:
        """Write a booking for a walk-in at the desk and put the car in the queue."""
        booking = walk_in_booking(self.day, walk_in)
        car = Car(
            booking,
            True,
            tuple(self.day.operations(booking)),
            self.draws.walk_in_normals[walk_in.index],
        )
        self.cars.append(car)
        self.car_arrives(car)
        return car

    # -- the day ------------------------------------------------------------------------------

    def run(self) -> SimulatedDay:
        """Run the day to the end and return its records."""
        from simulation import processes

        env = self.env
        for car, arrival in zip(self.cars, self.draws.arrivals, strict=True):
            if arrival is not None:
                env.process(processes.car_arrives(env, self, car, arrival))
        if self.draws.walk_ins:
            env.process(processes.walk_ins_arrive(env, self, self.draws.walk_ins))
        for sku, part in self.day.workshop.parts.items():
            actual = self.draws.deliveries.get(sku, ())
            for (booked, qty), at in zip(part.deliveries, actual, strict=True):
                env.process(processes.parts_are_delivered(env, self, sku, qty, booked, at))
        for tech in self.day.workshop.technicians:
            env.process(processes.technician_comes_on_duty(env, self, tech))
        for bay in self.day.workshop.bays:
            if bay.unavailable:
                env.process(processes.bay_reopens(env, self, bay))
        self.policy.start_day(self)
        env.process(processes.foreman_dispatches(env, self))
        self.call_foreman()  # a first look at minute 0
        env.run()
        return self._record()

    def _record(self) -> SimulatedDay:
        rows = []
        actual: list[Booking] = []
        for car in self.cars:
            b = car.booking
            rows.append(CarRecord(b.id, b.arrival, car.arrival, car.walk_in, car.finished))
            if car.arrival is None:
                continue
            promised = b.promised
            if promised is not None and promised < car.arrival:
                promised = car.arrival
            actual.append(replace(b, arrival=car.arrival, promised=promised))
        day = Day(self.day.workshop, self.day.date, tuple(actual))
        operations = tuple(sorted(self.operations, key=lambda r: (r.start, r.booking)))
        return SimulatedDay(self.day, day, operations, tuple(rows), self.replans)


def simulate_day(
    day: Day,
    policy: QueuePolicy,
    uncertainty: Uncertainty | None = None,
    *,
    seed: int = 0,
    replication: int = 0,
) -> SimulatedDay:
    """Simulate one day of the workshop under a queue policy.

    Parameters
    ----------
    day
        The day as booked.
    policy
        The queue policy (:mod:`simulation.policies`).
    uncertainty
        How the real day differs from the booked one; the defaults of :class:`Uncertainty`
        when ``None``. ``Uncertainty.none()`` plays the booked day exactly.
    seed, replication
        Select the random-number streams; the same pair always gives the same day.

    Returns
    -------
    SimulatedDay
        The records of the day, its actual plan and its key figures.
    """
    u = Uncertainty() if uncertainty is None else uncertainty
    draws = draw_day(day, u, seed, replication)
    return WorkshopSim(day, policy, u, draws).run()
