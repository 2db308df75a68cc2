"""Serial dispatch: take bookings in a rule's order and place each at the earliest possible time.

This is what a good planner does at a whiteboard, done carefully: each operation of a booking,
in catalogue order, goes to the qualified technician and matching bay that finish it soonest,
starting no earlier than the car is there, the previous operation is done and the parts are on
the shelf. Earlier gaps are filled when they fit (backfilling), nothing placed is moved. A
booking that cannot be completed is rolled back whole and left unscheduled with a reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from scheduler.clock import format_hhmm
from scheduler.dispatch.calendar import Calendar, Stock
from scheduler.domain import Bay, Booking, Day, Operation, Technician
from scheduler.plan import Assignment, Unscheduled, objective_parts


@dataclass(frozen=True, slots=True)
class _Placement:
    """An operation placed tentatively, kept so the booking can be rolled back."""

    assignment: Assignment
    parts: tuple[tuple[str, int], ...]


class BookingNotPlaced(Exception):
    """An operation of the booking has no technician, bay and parts together; says why."""


class Dispatcher:
    """Holds the day's calendars while bookings are placed one by one.

    Also used to insert a single booking into an existing schedule (slot search, walk-ins):
    pre-load the existing assignments with ``reserve`` and call ``place``.
    """

    def __init__(self, day: Day) -> None:
        self.day = day
        ws = day.workshop
        self.techs: dict[str, Calendar] = {}
        for tech in ws.technicians:
            start, end = tech.shift
            blocked = [(0, start), (end, 24 * 60), *tech.off_duty()]
            self.techs[tech.id] = Calendar.blocked(tuple((s, e) for s, e in blocked if s < e))
        self.bays = {bay.id: Calendar.blocked(bay.unavailable) for bay in ws.bays}
        self.stock = {sku: Stock(part) for sku, part in ws.parts.items()}
        # Candidates per (skill, kind): sorted so that, at equal finish, the technician with
        # fewer skills and the bay with fewer kinds are used first, keeping specialists free.
        self._techs_by_skill: dict[str, list[Technician]] = {}
        for tech in sorted(ws.technicians, key=lambda t: (len(t.skills), t.id)):
            if tech.working_windows():
                for skill in tech.skills:
                    self._techs_by_skill.setdefault(skill, []).append(tech)
        self._bays_by_kind: dict[str, list[Bay]] = {}
        for bay in sorted(ws.bays, key=lambda b: (len(b.kinds), b.id)):
            for kind in bay.kinds:
                self._bays_by_kind.setdefault(kind, []).append(bay)

    def conflict(self, assignment: Assignment) -> str | None:
        """Why ``assignment`` cannot be reserved exactly as it is here, or None if it can.

        Checks what a dispatcher relies on: the operation exists, the technician has the skill
        and the bay the kind, the duration matches the technician's efficiency, both are free
        for the whole operation (shift, breaks, absences, bay windows, other work) and the
        parts are on the shelf at its start.
        """
        a = assignment
        ws = self.day.workshop
        service = ws.services.get(a.service)
        if service is None or not 0 <= a.operation < len(service.operations):
            return f"{a.service} has no operation {a.operation}"
        op = service.operations[a.operation]
        if a.technician not in self.techs or a.bay not in self.bays:
            return f"{a.technician} or {a.bay} is not part of the workshop"
        tech, bay = ws.technician(a.technician), ws.bay(a.bay)
        if op.skill not in tech.skills:
            return f"technician {tech.id} lacks skill {op.skill!r}"
        if op.bay not in bay.kinds:
            return f"bay {bay.id} is not of kind {op.bay!r}"
        if a.end - a.start != tech.duration(op):
            return f"{a.service} takes {tech.duration(op)} minutes with {tech.id}"
        if not self.techs[tech.id].free(a.start, a.end):
            return f"technician {tech.id} is not free {format_hhmm(a.start)}-{format_hhmm(a.end)}"
        if not self.bays[bay.id].free(a.start, a.end):
            return f"bay {bay.id} is not free {format_hhmm(a.start)}-{format_hhmm(a.end)}"
        for sku, qty in op.parts.items():
            if self.stock[sku].earliest(a.start, qty) != a.start:
                return f"part {sku} is not in stock at {format_hhmm(a.start)}"
        return None

    def reserve(self, assignment: Assignment) -> None:
        """Mark an existing assignment's technician, bay and parts as taken.

        Raises BookingNotPlaced if it does not fit (see ``conflict``): a calendar must never
        hold two things at once, or every later answer built on it would be wrong.
        """
        problem = self.conflict(assignment)
        if problem is not None:
            raise BookingNotPlaced(f"{assignment.booking}: {problem}")
        op = self.day.workshop.services[assignment.service].operations[assignment.operation]
        self._commit(_Placement(assignment, tuple(op.parts.items())))

    def place(self, booking: Booking, ready: int | None = None, first: int = 0) -> list[Assignment]:
        """Place ``booking``'s operations, or raise BookingNotPlaced and change nothing.

        ``ready`` overrides the earliest start (the car's arrival by default); ``first`` skips
        the operations before that index (already done, when re-planning a started booking).
        """
        placed: list[_Placement] = []
        at = booking.arrival if ready is None else max(ready, booking.arrival)
        try:
            for code, index, op in self.day.operations(booking)[first:]:
                placement = self._place_operation(booking, code, index, op, at)
                self._commit(placement)
                placed.append(placement)
                at = placement.assignment.end
        except BookingNotPlaced:
            for placement in reversed(placed):
                self._undo(placement)
            raise
        return [p.assignment for p in placed]

    def release(self, assignment: Assignment) -> None:
        """Undo ``reserve(assignment)`` or a placement: free its technician, bay and parts."""
        op = self.day.workshop.services[assignment.service].operations[assignment.operation]
        self._undo(_Placement(assignment, tuple(op.parts.items())))

    def idle(self, now: int) -> tuple[set[str], set[str]]:
        """Ids of the technicians and bays free at the minute ``now``."""
        techs = {tid for tid, cal in self.techs.items() if cal.free(now, now + 1)}
        bays = {bid for bid, cal in self.bays.items() if cal.free(now, now + 1)}
        return techs, bays

    def start_at(
        self,
        booking: Booking,
        code: str,
        index: int,
        op: Operation,
        now: int,
        idle: tuple[set[str], set[str]] | None = None,
    ) -> Assignment | None:
        """Start ``op`` exactly at ``now`` if a technician, a bay and the parts are free.

        Picks the pair that finishes first (preferred technician at equal finish, then the
        least versatile technician and bay) and commits it. None when nothing is free now.
        ``idle`` (from ``idle(now)``) narrows the search to what is free at ``now``; the
        caller removes the technician and bay used from it.
        """
        idle_techs, idle_bays = idle if idle is not None else (None, None)
        bays = self._bays_by_kind.get(op.bay, [])
        if idle_bays is not None:
            bays = [b for b in bays if b.id in idle_bays]
        techs = self._techs_by_skill.get(op.skill, [])
        if idle_techs is not None:
            techs = [t for t in techs if t.id in idle_techs]
        if not bays or not techs or self._parts_ready(op, now) != now:
            return None
        best: tuple[tuple[int, int, int], Technician, Bay] | None = None
        for rank_t, tech in enumerate(techs):
            end = now + tech.duration(op)
            if best is not None and end > best[0][0]:
                continue
            if not self.techs[tech.id].free(now, end):
                continue
            for rank_b, bay in enumerate(bays):
                if self.bays[bay.id].free(now, end):
                    key = (end, 0 if booking.technician == tech.id else 1, rank_t * 1000 + rank_b)
                    if best is None or key < best[0]:
                        best = (key, tech, bay)
                    break
        if best is None:
            return None
        _, tech, bay = best
        assignment = Assignment(
            now, now + tech.duration(op), booking.id, code, index, bay.id, tech.id
        )
        self._commit(_Placement(assignment, tuple(op.parts.items())))
        return assignment

    def next_change(self, now: int) -> int | None:
        """The first moment after ``now`` when some technician or bay stops being busy."""
        best: int | None = None
        for calendar in (*self.techs.values(), *self.bays.values()):
            moment = calendar.next_end(now)
            if moment is not None and (best is None or moment < best):
                best = moment
        return best

    def _commit(self, p: _Placement) -> None:
        a = p.assignment
        self.techs[a.technician].occupy(a.start, a.end)
        self.bays[a.bay].occupy(a.start, a.end)
        for sku, qty in p.parts:
            self.stock[sku].take(a.start, qty)

    def _undo(self, p: _Placement) -> None:
        a = p.assignment
        self.techs[a.technician].release(a.start, a.end)
        self.bays[a.bay].release(a.start, a.end)
        for sku, qty in p.parts:
            self.stock[sku].untake(a.start, qty)

    def _parts_ready(self, op: Operation, at: int) -> int | None:
        """Earliest start from ``at`` at which every part of ``op`` can be taken."""
        start = at
        for sku, qty in op.parts.items():
            earliest = self.stock[sku].earliest(start, qty)
            if earliest is None:
                return None
            start = max(start, earliest)
        return start

    def _place_operation(
        self, booking: Booking, code: str, index: int, op: Operation, ready: int
    ) -> _Placement:
        techs = self._techs_by_skill.get(op.skill, [])
        bays = self._bays_by_kind.get(op.bay, [])
        parts_at = self._parts_ready(op, ready)
        if not techs or not bays or parts_at is None:
            raise BookingNotPlaced(self._why_not(code, index, op, ready))
        best: tuple[tuple[int, int, int], int, Technician, Bay] | None = None
        # Lower bounds first: each technician and bay on its own, so most pairs are skipped.
        tech_options = []
        for tech in techs:
            duration = tech.duration(op)
            start = self.techs[tech.id].earliest(parts_at, duration)
            if start is not None:
                tech_options.append((start + duration, start, duration, tech))
        tech_options.sort(key=lambda o: o[0])
        min_duration = min((o[2] for o in tech_options), default=0)
        bay_options = []
        for bay in bays:
            start = self.bays[bay.id].earliest(parts_at, min_duration)
            if start is not None:
                bay_options.append((start, bay))
        bay_options.sort(key=lambda o: o[0])
        for rank_t, (lb_end, tech_start, duration, tech) in enumerate(tech_options):
            if best is not None and lb_end > best[0][0]:
                break
            tech_cal = self.techs[tech.id]
            for rank_b, (bay_start, bay) in enumerate(bay_options):
                start = max(tech_start, bay_start)
                if best is not None and start + duration > best[0][0]:
                    break
                start = self._common_start(tech_cal, self.bays[bay.id], start, duration)
                if start is None:
                    continue
                if op.parts:
                    parts_start = self._parts_ready(op, start)
                    if parts_start != start:
                        # Stock only grows after a delivery, so a later start may work.
                        start = self._parts_and_resources(op, tech_cal, bay, start, duration)
                        if start is None:
                            continue
                preferred = 0 if booking.technician == tech.id else 1
                key = (start + duration, preferred, rank_t * 1000 + rank_b)
                if best is None or key < best[0]:
                    best = (key, start, tech, bay)
        if best is None:
            raise BookingNotPlaced(self._why_not(code, index, op, ready))
        _, start, tech, bay = best
        end = start + tech.duration(op)
        assignment = Assignment(start, end, booking.id, code, index, bay.id, tech.id)
        return _Placement(assignment, tuple(op.parts.items()))

    def _common_start(self, tech: Calendar, bay: Calendar, at: int, duration: int) -> int | None:
        """Earliest start from ``at`` when both calendars are free for ``duration``."""
        start: int | None = at
        while start is not None:
            tech_start = tech.earliest(start, duration)
            if tech_start is None:
                return None
            start = bay.earliest(tech_start, duration)
            if start == tech_start:
                return start
        return None

    def _parts_and_resources(
        self, op: Operation, tech: Calendar, bay: Bay, at: int, duration: int
    ) -> int | None:
        start: int | None = at
        while start is not None:
            parts_start = self._parts_ready(op, start)
            if parts_start is None:
                return None
            start = self._common_start(tech, self.bays[bay.id], parts_start, duration)
            if start == parts_start:
                return start
        return None

    def _why_not(self, code: str, index: int, op: Operation, ready: int) -> str:
        """A reason a service manager can act on, for the first operation that did not fit."""
        ws = self.day.workshop
        what = f"{code} operation {index + 1}"
        skilled = [t for t in ws.technicians if op.skill in t.skills]
        on_shift = [t for t in skilled if t.working_windows()]
        if not on_shift:
            return f"no technician with skill {op.skill!r} on shift ({what})"
        bays = [b for b in ws.bays if op.bay in b.kinds]
        if all(self.bays[b.id].earliest(0, 1) is None for b in bays):
            return f"no bay of kind {op.bay!r} available ({what})"
        fitting = [
            t
            for t in on_shift
            if any(e - max(s, ready) >= t.duration(op) for s, e in t.working_windows())
        ]
        if not fitting:
            return (
                f"no technician with skill {op.skill!r} has {op.minutes} minutes left on shift "
                f"after {format_hhmm(ready)} ({what})"
            )
        for sku, qty in op.parts.items():
            stock = self.stock[sku]
            earliest = stock.earliest(ready, qty)
            if earliest is None:
                return (
                    f"part {sku} out of stock: needs {qty}, {max(stock.left(), 0)} left "
                    f"for the day ({what})"
                )
            if earliest > ready:
                latest_end = max(e for t in fitting for _, e in t.working_windows())
                return (
                    f"part {sku} out of stock until {format_hhmm(earliest)} and the job would "
                    f"end after the last shift ends at {format_hhmm(latest_end)} ({what})"
                )
        return (
            f"no technician with skill {op.skill!r} and bay of kind {op.bay!r} free together "
            f"for {op.minutes} minutes after {format_hhmm(ready)} ({what})"
        )


Schedule = tuple[list[Assignment], list[Unscheduled]]


def dispatch_once(day: Day, order: Sequence[Booking]) -> Schedule:
    """Place bookings in ``order``; return the assignments and the bookings left out."""
    dispatcher = Dispatcher(day)
    assignments: list[Assignment] = []
    unscheduled: list[Unscheduled] = []
    for booking in order:
        try:
            assignments.extend(dispatcher.place(booking))
        except BookingNotPlaced as exc:
            unscheduled.append(Unscheduled(booking.id, str(exc)))
    return assignments, unscheduled


def dispatch(day: Day, order: Sequence[Booking], *, repairs: int = 3) -> Schedule:
    """Place bookings in ``order``, then retry with the bookings left out moved to the front.

    A rule that favours waiters can leave a drop-off without room at the end of a full day
    where first-come-first-served would have fitted it in the morning. Each repair round
    places the left-out bookings first; the schedule with the fewest left out, then the lowest
    objective, is kept.
    """
    best = dispatch_once(day, order)
    best_key = _key(day, best)
    current = list(order)
    for _ in range(repairs):
        if not best[1]:
            break
        left = {u.booking for u in best[1]}
        current = [b for b in current if b.id in left] + [b for b in current if b.id not in left]
        trial = dispatch_once(day, current)
        trial_key = _key(day, trial)
        if trial_key >= best_key:
            break
        best, best_key = trial, trial_key
    return best


def _key(day: Day, schedule: Schedule) -> tuple[int, Fraction]:
    assignments, unscheduled = schedule
    return len(unscheduled), objective_parts(day, assignments, unscheduled).total
