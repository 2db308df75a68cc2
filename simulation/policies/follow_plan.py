"""Follow the optimised plan: work in the planned order, re-plan when reality drifts.

The service manager plans the day the evening before with the planner (``workshop plan``) and
the floor works to it: each technician and each bay takes its operations in the planned
order, none before its planned time, except that a technician who has got ahead of the plan
(a job finished early) may start the next one on the list up to that much earlier. The real
day drifts (jobs overrun or finish early, cars come late or not at all, walk-ins come in) and
when the drift passes a threshold the manager re-plans the rest of the day
(:mod:`simulation.replan`) and the floor follows the new plan. Idle technicians and bays
meanwhile take cars the plan has no turn for, when the job fits before their next planned one.

With no randomness no technician is ever ahead, no car is unplanned and nothing drifts, so the
floor does exactly what the plan says, minute for minute, and the simulated day's key figures
are the plan's own; the tests check this.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from scheduler.plan import Assignment
from simulation.replan import Replanner, replan

if TYPE_CHECKING:
    from simulation.model import Car, Job, WorkshopSim

OperationKey = tuple[str, str, int]  # (booking, service, operation index)


def _key(a: Assignment) -> OperationKey:
    return (a.booking, a.service, a.operation)


class FollowPlan:
    """Dispatch in planned order; re-plan with the scheduler when reality drifts too far.

    Parameters
    ----------
    assignments
        The plan made before the day (a :class:`scheduler.plan.Plan`'s ``assignments``).
    replanner
        How to re-plan; ``None`` never re-plans (cars the plan does not know, such as
        walk-ins, then only get gaps between planned jobs).
    threshold
        Drift, in minutes, that triggers a re-plan: an operation still not started this long
        after its planned start, or one that ended this much earlier or later than planned,
        or a car on site that the plan does not know. Default 30.
    fill_gaps
        Whether idle technicians and bays may take a car the plan has no turn for (one the
        plan left out, or a walk-in not yet planned) when the job fits before their next
        planned operation, as any foreman would. Default True.

    Raises
    ------
    ValueError
        If ``threshold`` is negative.
    """

    name = "follow-plan"

    def __init__(
        self,
        assignments: Iterable[Assignment],
        *,
        replanner: Replanner | None = None,
        threshold: int = 30,
        fill_gaps: bool = True,
    ) -> None:
        if threshold < 0:
            raise ValueError(f"re-plan threshold must be >= 0 minutes, got {threshold}")
        self.plan = tuple(sorted(assignments))
        self.replanner = replanner
        self.threshold = threshold
        self.fill_gaps = fill_gaps
        self._todo: dict[OperationKey, Assignment] = {}
        self._order: list[OperationKey] = []
        self._by_technician: dict[str, list[OperationKey]] = {}
        self._by_bay: dict[str, list[OperationKey]] = {}
        self._planned_end: dict[OperationKey, int] = {}
        self._ahead: dict[str, int] = {}
        self._known: set[str] = set()
        self._cars: dict[str, Car] = {}
        self._seen_records = 0
        self._last_replan = -1
        self._drift = False

    def start_day(self, floor: WorkshopSim) -> None:
        """Load the plan and make appointments with the foreman at its planned times."""
        self._cars = {car.booking.id: car for car in floor.cars}
        self._known = set(self._cars)
        self._seen_records = 0
        self._last_replan = -1
        self._planned_end = {}
        self._drift = False
        self._load(self.plan, floor)
        if self.replanner is None:
            for car in floor.cars:
                floor.wake_at(car.booking.arrival + floor.uncertainty.no_show_after + 1)

    def _load(self, assignments: Iterable[Assignment], floor: WorkshopSim) -> None:
        self._todo = {}
        self._by_technician = {}
        self._by_bay = {}
        self._ahead = {}
        for a in sorted(assignments):
            key = _key(a)
            self._todo[key] = a
            self._by_technician.setdefault(a.technician, []).append(key)
            self._by_bay.setdefault(a.bay, []).append(key)
            floor.wake_at(a.start)
            if self.replanner is not None:
                floor.wake_at(a.start + self.threshold + 1)
        self._order = list(self._todo)

    def dispatch(self, floor: WorkshopSim) -> None:
        """Re-plan if the day has drifted, then start every operation whose turn has come."""
        for car in floor.cars[len(self._cars) :]:
            self._cars[car.booking.id] = car  # walk-ins the floor has seen since
        self._read_records(floor)
        if self.replanner is not None:
            if self._drifted(floor) and floor.now != self._last_replan:
                self._replan(floor)
        else:
            self._drop_given_up(floor)
        self._start_planned(floor)
        if self.fill_gaps:
            self._fill_gaps(floor)

    def _start_planned(self, floor: WorkshopSim) -> None:
        """Start each planned operation that is first in line on its technician and bay, once
        its planned time has come (less what its technician is ahead of the plan)."""
        now = floor.now
        most_ahead = max(self._ahead.values(), default=0)
        started: list[OperationKey] = []
        for key in self._order:
            a = self._todo[key]
            if a.start - most_ahead > now:
                break
            if a.start - self._ahead.get(a.technician, 0) > now:
                continue
            if self._by_technician[a.technician][0] != key or self._by_bay[a.bay][0] != key:
                continue  # an earlier operation of the plan has not started on it yet
            job = self._job(key)
            if job is not None and floor.can_start(job, a.technician, a.bay):
                floor.start(job, a.technician, a.bay)
                self._planned_end[key] = a.end
                started.append(key)
                self._by_technician[a.technician].pop(0)
                self._by_bay[a.bay].pop(0)
        for key in started:
            del self._todo[key]
        if started:
            self._order = [k for k in self._order if k in self._todo]

    def _job(self, key: OperationKey) -> Job | None:
        """The waiting job for a planned operation, if the car is ready for exactly it."""
        from simulation.model import Job

        car = self._cars.get(key[0])
        if car is None or car.in_work or car.ready_at is None or car.finished is not None:
            return None
        code, index, op = car.operations[car.next]
        if (code, index) != key[1:]:
            return None
        return Job(car, code, index, op, car.ready_at)

    def _read_records(self, floor: WorkshopSim) -> None:
        """Note how far each technician is ahead of the plan, and whether a job drifted."""
        records = floor.operations
        for record in records[self._seen_records :]:
            planned = self._planned_end.get((record.booking, record.service, record.operation))
            if planned is None:
                continue
            if abs(record.end - planned) > self.threshold:
                self._drift = True
            ahead = max(0, planned - record.end)
            self._ahead[record.technician] = ahead
            keys = self._by_technician.get(record.technician)
            if ahead and keys:
                floor.wake_at(self._todo[keys[0]].start - ahead)
        self._seen_records = len(records)

    def _drifted(self, floor: WorkshopSim) -> bool:
        """Whether the day has left the plan by more than the threshold."""
        if self._drift:
            return True
        if self._order and floor.now - self._todo[self._order[0]].start > self.threshold:
            return True  # an operation is overdue (car late, the job before it overran)
        return any(job.booking.id not in self._known for job in floor.waiting())

    def _replan(self, floor: WorkshopSim) -> None:
        assert self.replanner is not None
        new = replan(floor, self.replanner, late_guess=self.threshold)
        floor.replans += 1
        self._last_replan = floor.now
        self._drift = False
        self._known = set(self._cars) | set(new.covered)
        self._load(new.assignments, floor)

    def _drop_given_up(self, floor: WorkshopSim) -> None:
        """Without re-planning, forget the operations of cars that are not coming."""
        now = floor.now
        gone = {
            ident
            for ident, car in self._cars.items()
            if not car.here and now > car.booking.arrival + floor.uncertainty.no_show_after
        }
        if not gone or not any(key[0] in gone for key in self._order):
            return
        for key in [k for k in self._order if k[0] in gone]:
            a = self._todo.pop(key)
            self._by_technician[a.technician].remove(key)
            self._by_bay[a.bay].remove(key)
        self._order = [k for k in self._order if k in self._todo]

    def _fill_gaps(self, floor: WorkshopSim) -> None:
        """Give idle technicians and bays to cars the plan has no turn for (left out of the
        plan, or not in it), when the job fits before their next planned operation."""
        planned = {key[0] for key in self._todo}
        jobs = [job for job in floor.waiting() if job.booking.id not in planned]
        if not jobs:
            return
        jobs.sort(key=lambda j: (-float(floor.day.weight(j.booking)), j.ready, j.booking.id))
        now = floor.now
        # Parts the rest of the plan will take: a gap filler may only use what is beyond that,
        # or it would leave a planned job without its parts (deliveries only ever add stock).
        ws = floor.day.workshop
        promised_parts: dict[str, int] = {}
        for key in self._order:
            a = self._todo[key]
            for sku, qty in ws.services[a.service].operations[a.operation].parts.items():
                promised_parts[sku] = promised_parts.get(sku, 0) + qty
        tech_next = {
            t: self._todo[keys[0]].start - self._ahead.get(t, 0)
            for t, keys in self._by_technician.items()
            if keys
        }
        bay_next = {b: self._todo[keys[0]].start for b, keys in self._by_bay.items() if keys}
        for job in jobs:
            op = job.operation
            if any(
                floor.shelf[sku].level - qty < promised_parts.get(sku, 0)
                for sku, qty in op.parts.items()
            ):
                continue
            for tech in floor.technicians_for(op):
                end = now + tech.duration(op)
                if end > tech_next.get(tech.id, end) or not floor.technician_free(tech, end - now):
                    continue
                bay = next(
                    (
                        b
                        for b in floor.bays_for(op)
                        if end <= bay_next.get(b.id, end) and floor.bay_free(b, end - now)
                    ),
                    None,
                )
                if bay is not None:
                    floor.start(job, tech.id, bay.id)
                    break
