"""The day as CP-SAT sees it: tasks with their technician modes, bays and start windows.

A booking's operations become *tasks*. Each task may run in one of several *modes* (a qualified
technician and the exact duration that technician needs) and in one of several matching bays.
Technicians and bays are *resources* whose ``blocked`` windows already merge everything that
keeps them busy: outside the shift, breaks, absences (which may overlap one another), bay
closures, and assignments of other bookings that stay as they are. Parts are *stocks* with fixed
supply events (on hand at midnight, deliveries) and fixed takes of those pinned assignments.

Everything that can be worked out before search is worked out here, once: durations in exact
integer arithmetic, which technicians and bays can ever hold a task, each task's earliest and
latest start on an otherwise empty workshop, and the weights scaled to integers. The same
structure also carries literature instances (flexible job shops), whose processing times depend
on the machine in a way no single technician efficiency can express.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType

from ortools.util.python.sorted_interval_list import Domain

from scheduler.domain import (
    MINUTES_PER_DAY,
    UNSCHEDULED_PENALTY_PER_WEIGHT,
    Booking,
    Day,
    Window,
    merge_windows,
)
from scheduler.plan import Assignment, Plan, ready_times

Ranges = tuple[tuple[int, int], ...]
"""Inclusive ranges ``(lo, hi)`` of allowed start minutes, sorted and disjoint."""


@dataclass(frozen=True, slots=True)
class Resource:
    """A technician or a bay: its id and the merged windows when it can hold no new task."""

    id: str
    blocked: tuple[Window, ...]

    def free(self, horizon: int) -> tuple[Window, ...]:
        """The complement of ``blocked`` within ``[0, horizon)``."""
        out: list[Window] = []
        cursor = 0
        for start, end in self.blocked:
            if start > cursor:
                out.append((cursor, min(start, horizon)))
            cursor = max(cursor, end)
            if cursor >= horizon:
                break
        if cursor < horizon:
            out.append((cursor, horizon))
        return tuple((s, e) for s, e in out if s < e)


@dataclass(frozen=True, slots=True)
class Mode:
    """One way to do a task: this technician, taking this many minutes."""

    technician: int  # index into Problem.technicians
    duration: int


@dataclass(frozen=True, slots=True)
class Pin:
    """A task that stays exactly as it is (already started, or fixed by the caller)."""

    start: int
    end: int
    technician: int
    bay: int


@dataclass(frozen=True, slots=True)
class Task:
    """One operation of one booking, with every way it could be done."""

    job: int
    service: str
    operation: int
    modes: tuple[Mode, ...]
    bays: tuple[int, ...]  # empty: the task needs no bay (literature instances only)
    parts: tuple[tuple[int, int], ...] = ()  # (stock index, quantity) taken at the start
    skill: str | None = None  # pools for the redundant capacity constraints
    kind: str | None = None
    starts: Ranges = ()  # allowed start minutes (tight window); empty when pinned
    pin: Pin | None = None
    preferred: int | None = None  # requested technician, if it is one of the modes
    previous_technician: int | None = None  # technician in the previous plan (-1: not a mode)

    @property
    def min_duration(self) -> int:
        """The shortest duration over the modes (the pinned duration when pinned)."""
        if self.pin is not None:
            return self.pin.end - self.pin.start
        return min(m.duration for m in self.modes)

    @property
    def earliest(self) -> int:
        """Earliest allowed start."""
        return self.pin.start if self.pin is not None else self.starts[0][0]

    @property
    def latest(self) -> int:
        """Latest allowed start."""
        return self.pin.start if self.pin is not None else self.starts[-1][1]


@dataclass(frozen=True, slots=True)
class Job:
    """A booking: its tasks in the order they must run, and what its wait costs."""

    booking: str
    tasks: tuple[int, ...]  # indices into Problem.tasks; empty when it cannot be scheduled
    release: int  # arrival
    waiting: bool
    due: int  # promised ready time (closing time when none)
    weight: int  # DESIGN.md weight times Problem.scale
    required: bool = False  # must be scheduled (it has pinned tasks, or the caller says so)
    earliest_end: int | None = None  # ready time on an otherwise empty workshop; None: never
    reason: str | None = None  # why it can never be scheduled
    previous_ready: int | None = None  # ready time in the previous plan, for stability

    @property
    def schedulable(self) -> bool:
        """Whether the job can be scheduled at all."""
        return self.earliest_end is not None

    def wait(self, ready: int) -> int:
        """Minutes the customer waits when the car is ready at ``ready``."""
        if self.waiting:
            return ready - self.release
        return max(0, ready - self.due)


@dataclass(frozen=True, slots=True)
class Stock:
    """One part's shelf: fixed supply and take events, and the tasks' takes come on top."""

    sku: str
    events: tuple[tuple[int, int], ...]  # (minute, change): on hand at 0, deliveries, fixed takes
    floor: int = 0  # lowest level allowed (below 0 only if fixed takes alone overdraw it)

    def level(self, minute: int) -> int:
        """Level at ``minute`` from the fixed events alone."""
        return sum(change for at, change in self.events if at <= minute)

    def earliest(self, quantity: int) -> int | None:
        """Earliest minute from which ``quantity`` more can be taken and never be missed later.

        A take at ``s`` is possible when the level stays at least ``floor + quantity`` at every
        event from ``s`` on; the answer is an event time, or None when no such time exists.
        """
        by_time: dict[int, int] = defaultdict(int)
        for at, change in self.events:
            by_time[at] += change
        times = sorted(by_time)
        levels: list[int] = []
        level = 0
        for at in times:
            level += by_time[at]
            levels.append(level)
        answer: int | None = None
        suffix = math.inf
        for k in range(len(times) - 1, -1, -1):
            suffix = min(suffix, levels[k])
            if suffix - quantity < self.floor:
                break
            answer = times[k]
        return answer


@dataclass(frozen=True, slots=True)
class Problem:
    """Everything CP-SAT needs, with ids to turn a solution back into assignments."""

    technicians: tuple[Resource, ...]
    bays: tuple[Resource, ...]
    jobs: tuple[Job, ...]
    tasks: tuple[Task, ...]
    stocks: tuple[Stock, ...]
    horizon: int
    scale: int = 1  # objective units per DESIGN.md unit: LCM of the weights' denominators
    stability_penalty: int = 0  # per changed booking, already times ``scale``
    penalty_per_weight: int = UNSCHEDULED_PENALTY_PER_WEIGHT
    skill_members: Mapping[str, tuple[int, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    kind_members: Mapping[str, tuple[int, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    chains: tuple[tuple[int, ...], ...] = ()  # tasks that must run in this order (re-timing)

    def assignment(self, task_index: int, start: int, mode: int, bay: int) -> Assignment:
        """The assignment a task gets with this start, mode index and bay index."""
        task = self.tasks[task_index]
        m = task.modes[mode]
        return Assignment(
            start,
            start + m.duration,
            self.jobs[task.job].booking,
            task.service,
            task.operation,
            self.bays[bay].id if bay >= 0 else "",
            self.technicians[m.technician].id,
        )

    def pinned_assignment(self, task_index: int) -> Assignment:
        """The assignment of a pinned task, exactly as given."""
        task = self.tasks[task_index]
        assert task.pin is not None
        pin = task.pin
        return Assignment(
            pin.start,
            pin.end,
            self.jobs[task.job].booking,
            task.service,
            task.operation,
            self.bays[pin.bay].id,
            self.technicians[pin.technician].id,
        )


# --- windows ----------------------------------------------------------------------------------


def allowed_starts(free: Iterable[Window], duration: int) -> list[list[int]]:
    """Inclusive ranges of starts ``s`` with ``[s, s + duration)`` inside one free window."""
    return [[s, e - duration] for s, e in free if e - s >= duration]


def to_ranges(domain: Domain) -> Ranges:
    """An OR-Tools domain as a tuple of inclusive ranges."""
    flat = domain.flattened_intervals()
    return tuple((flat[i], flat[i + 1]) for i in range(0, len(flat), 2))


END_OF_TIME = 2 * MINUTES_PER_DAY
"""Blocked windows run to here, past any end a task could have, so none ends after its shift."""


def _clip(windows: Iterable[Window]) -> list[Window]:
    return [(max(0, s), min(e, END_OF_TIME)) for s, e in windows if s < e and e > 0]


def weight_scale(weights: Iterable[Fraction]) -> int:
    """The least common multiple of the denominators: weights times it are integers."""
    scale = 1
    for w in weights:
        scale = math.lcm(scale, Fraction(w).denominator)
    return scale


# --- compiling a day --------------------------------------------------------------------------


def compile_day(
    day: Day,
    *,
    bookings: Sequence[Booking] | None = None,
    fixed: Sequence[Assignment] = (),
    frozen: Sequence[Assignment] = (),
    required: Iterable[str] = (),
    previous: Plan | None = None,
    stability_weight: Fraction | int = 0,
    tight_windows: bool = True,
) -> Problem:
    """Compile ``day`` into the problem CP-SAT solves.

    Parameters
    ----------
    day
        The workshop and its bookings.
    bookings
        The bookings to plan (default: all). Others are either ``fixed`` or left out.
    fixed
        Assignments of bookings *not* planned here that stay as they are: they block their
        technician and bay and take their parts at their start. Used by the neighbourhood search.
    frozen
        Assignments of planned bookings that must stay exactly as they are (operations already
        started); their bookings must be scheduled.
    required
        Ids of further bookings that must be scheduled.
    previous
        A previous plan; with ``stability_weight`` > 0 each booking whose ready time moves or
        whose technician changes costs that weight (see ``improve``).
    stability_weight
        Objective units (weighted minutes) per changed booking.
    tight_windows
        Restrict each task's start to the minutes it could start on an empty workshop (from
        arrival, shifts, breaks, bay closures, parts and the latest time the booking can still
        finish). Off, starts only lie within the horizon; the plan rules still hold through the
        resources' blocked windows.

    Raises
    ------
    ValueError
        When a frozen assignment names an unknown booking, operation, technician or bay.
    """
    ws = day.workshop
    planned = list(day.bookings if bookings is None else bookings)
    planned_ids = {b.id for b in planned}
    pins = _frozen_by_operation(day, frozen, planned_ids)
    horizon = min(
        MINUTES_PER_DAY,
        max([t.shift[1] for t in ws.technicians] + [a.end for a in (*fixed, *frozen)]),
    )
    tech_index = {t.id: i for i, t in enumerate(ws.technicians)}
    bay_index = {b.id: i for i, b in enumerate(ws.bays)}

    busy_tech: dict[str, list[Window]] = defaultdict(list)
    busy_bay: dict[str, list[Window]] = defaultdict(list)
    for a in (*fixed, *frozen):
        busy_tech[a.technician].append((a.start, a.end))
        busy_bay[a.bay].append((a.start, a.end))
    technicians = tuple(
        Resource(
            t.id,
            merge_windows(
                _clip([(0, t.shift[0]), (t.shift[1], END_OF_TIME), *t.off_duty(), *busy_tech[t.id]])
            ),
        )
        for t in ws.technicians
    )
    bays = tuple(
        Resource(b.id, merge_windows(_clip([*b.unavailable, *busy_bay[b.id]]))) for b in ws.bays
    )
    stocks, stock_index = _stocks(day, planned, fixed, frozen, pins)
    scale = weight_scale([*(day.weight(b) for b in day.bookings), Fraction(stability_weight)])
    previous_ready = ready_times(previous.assignments) if previous is not None else {}
    previous_tech = (
        {(a.booking, a.service, a.operation): a.technician for a in previous.assignments}
        if previous is not None
        else {}
    )
    required_ids = set(required) | {a.booking for a in frozen}

    builder = _TaskBuilder(
        day, technicians, bays, stocks, stock_index, horizon, tech_index, bay_index, tight_windows
    )
    jobs: list[Job] = []
    for booking in planned:
        job_index = len(jobs)
        tasks, earliest_end, reason = builder.job_tasks(
            booking,
            job_index,
            pins,
            previous_tech if stability_weight else {},
        )
        stable = stability_weight and booking.id in previous_ready
        jobs.append(
            Job(
                booking=booking.id,
                tasks=tasks,
                release=booking.arrival,
                waiting=booking.waiting,
                due=day.promised(booking),
                weight=int(day.weight(booking) * scale),
                required=booking.id in required_ids,
                earliest_end=earliest_end,
                reason=reason,
                previous_ready=previous_ready[booking.id] if stable else None,
            )
        )
    skill_members: dict[str, list[int]] = defaultdict(list)
    for i, t in enumerate(ws.technicians):
        for skill in t.skills:
            skill_members[skill].append(i)
    kind_members: dict[str, list[int]] = defaultdict(list)
    for i, b in enumerate(ws.bays):
        for kind in b.kinds:
            kind_members[kind].append(i)
    return Problem(
        technicians=technicians,
        bays=bays,
        jobs=tuple(jobs),
        tasks=tuple(builder.tasks),
        stocks=stocks,
        horizon=horizon,
        scale=scale,
        stability_penalty=int(Fraction(stability_weight) * scale),
        skill_members=MappingProxyType({k: tuple(v) for k, v in skill_members.items()}),
        kind_members=MappingProxyType({k: tuple(v) for k, v in kind_members.items()}),
    )


def _frozen_by_operation(
    day: Day, frozen: Sequence[Assignment], planned: set[str]
) -> dict[tuple[str, str, int], Assignment]:
    """Frozen assignments by (booking, service, operation), checked against the day."""
    ws = day.workshop
    tech_ids = {t.id for t in ws.technicians}
    bay_ids = {b.id for b in ws.bays}
    out: dict[tuple[str, str, int], Assignment] = {}
    for a in frozen:
        if a.booking not in planned:
            raise ValueError(f"frozen assignment for booking {a.booking!r}, which is not planned")
        booking = day.booking(a.booking)
        if a.service not in booking.services or not 0 <= a.operation < len(
            ws.services[a.service].operations
        ):
            raise ValueError(
                f"frozen assignment {a.service}#{a.operation} is not an operation of {a.booking}"
            )
        if a.technician not in tech_ids or a.bay not in bay_ids:
            raise ValueError(f"frozen assignment of {a.booking} names an unknown technician/bay")
        key = (a.booking, a.service, a.operation)
        if key in out:
            raise ValueError(f"operation {a.service}#{a.operation} of {a.booking} frozen twice")
        out[key] = a
    return out


def _stocks(
    day: Day,
    planned: Sequence[Booking],
    fixed: Sequence[Assignment],
    frozen: Sequence[Assignment],
    pins: Mapping[tuple[str, str, int], Assignment],
) -> tuple[tuple[Stock, ...], dict[str, int]]:
    """Stocks of parts that can run short for the planned tasks; others are left out."""
    ws = day.workshop
    demand: dict[str, int] = defaultdict(int)
    for booking in planned:
        for code, index, op in day.operations(booking):
            if (booking.id, code, index) in pins:
                continue
            for sku, qty in op.parts.items():
                demand[sku] += qty
    taken: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for a in (*fixed, *frozen):
        for sku, qty in ws.services[a.service].operations[a.operation].parts.items():
            taken[sku].append((a.start, -qty))
    stocks: list[Stock] = []
    positions: dict[str, int] = {}
    for sku in sorted(demand):
        part = ws.parts[sku]
        events = ((0, part.on_hand), *part.deliveries, *taken[sku])
        lowest = _lowest_level(events)
        floor = min(0, lowest)
        if lowest - demand[sku] >= floor:
            continue  # all planned tasks together can never empty the shelf
        positions[sku] = len(stocks)
        stocks.append(Stock(sku, tuple(sorted(events)), floor))
    return tuple(stocks), positions


def _lowest_level(events: Iterable[tuple[int, int]]) -> int:
    """The lowest running level over the day of fixed (minute, change) events."""
    by_time: dict[int, int] = defaultdict(int)
    for at, change in events:
        by_time[at] += change
    level, lowest = 0, 0
    for at in sorted(by_time):
        level += by_time[at]
        lowest = min(lowest, level)
    return lowest


class _TaskBuilder:
    """Works out each booking's tasks: modes, bays and start windows."""

    def __init__(
        self,
        day: Day,
        technicians: tuple[Resource, ...],
        bays: tuple[Resource, ...],
        stocks: tuple[Stock, ...],
        stock_index: Mapping[str, int],
        horizon: int,
        tech_index: Mapping[str, int],
        bay_index: Mapping[str, int],
        tight_windows: bool,
    ) -> None:
        self.day = day
        self.horizon = horizon
        self.stocks = stocks
        self.stock_index = stock_index
        self.tech_index = tech_index
        self.bay_index = bay_index
        self.tight = tight_windows
        self.tech_free = [r.free(horizon) for r in technicians]
        self.bay_free = [r.free(horizon) for r in bays]
        self.tasks: list[Task] = []
        self._tech_domains: dict[tuple[int, int], Domain] = {}
        self._bay_domains: dict[tuple[int, int], Domain] = {}
        self._parts_ready: dict[tuple[int, int], int | None] = {}

    def _tech_domain(self, tech: int, duration: int) -> Domain:
        key = (tech, duration)
        if key not in self._tech_domains:
            self._tech_domains[key] = Domain.from_intervals(
                allowed_starts(self.tech_free[tech], duration)
            )
        return self._tech_domains[key]

    def _bay_domain(self, bay: int, duration: int) -> Domain:
        key = (bay, duration)
        if key not in self._bay_domains:
            self._bay_domains[key] = Domain.from_intervals(
                allowed_starts(self.bay_free[bay], duration)
            )
        return self._bay_domains[key]

    def _stock_ready(self, stock: int, quantity: int) -> int | None:
        key = (stock, quantity)
        if key not in self._parts_ready:
            self._parts_ready[key] = self.stocks[stock].earliest(quantity)
        return self._parts_ready[key]

    def job_tasks(
        self,
        booking: Booking,
        job: int,
        pins: Mapping[tuple[str, str, int], Assignment],
        previous_tech: Mapping[tuple[str, str, int], str],
    ) -> tuple[tuple[int, ...], int | None, str | None]:
        """Append the booking's tasks; return their indices, earliest end and any reason."""
        ws = self.day.workshop
        drafts: list[_Draft] = []
        for code, index, op in self.day.operations(booking):
            key = (booking.id, code, index)
            pin_a = pins.get(key)
            prev = previous_tech.get(key)
            if pin_a is not None:
                pin = Pin(
                    pin_a.start,
                    pin_a.end,
                    self.tech_index[pin_a.technician],
                    self.bay_index[pin_a.bay],
                )
                drafts.append(_Draft(code, index, (), (), (), op.skill, op.bay, None, pin, None))
                continue
            modes = []
            for i, tech in enumerate(ws.technicians):
                if op.skill not in tech.skills:
                    continue
                duration = tech.duration(op)
                if not self._tech_domain(i, duration).is_empty():
                    modes.append(Mode(i, duration))
            what = f"{code} operation {index + 1}"
            if not modes:
                return (), None, self._why_no_technician(op.skill, op.minutes, what)
            shortest = min(m.duration for m in modes)
            bays = tuple(
                i
                for i, bay in enumerate(ws.bays)
                if op.bay in bay.kinds and not self._bay_domain(i, shortest).is_empty()
            )
            if not bays:
                return (), None, f"no bay of kind {op.bay!r} available ({what})"
            parts: list[tuple[int, int]] = []
            parts_ready = 0
            for sku, qty in op.parts.items():
                if sku not in self.stock_index:
                    continue
                stock = self.stock_index[sku]
                ready = self._stock_ready(stock, qty)
                if ready is None:
                    return (), None, f"part {sku} out of stock for the day ({what})"
                parts.append((stock, qty))
                parts_ready = max(parts_ready, ready)
            preferred = (
                self.tech_index[booking.technician]
                if booking.technician is not None
                and any(m.technician == self.tech_index[booking.technician] for m in modes)
                else None
            )
            previous = None
            if prev is not None:
                previous = self.tech_index[prev]
                if not any(m.technician == previous for m in modes):
                    previous = -1
            drafts.append(
                _Draft(
                    code,
                    index,
                    tuple(modes),
                    bays,
                    tuple(parts),
                    op.skill,
                    op.bay,
                    preferred,
                    None,
                    previous,
                    parts_ready,
                )
            )
        windows = self._windows(booking, drafts)
        if windows is None:
            return (), None, "not enough working time left in the day for all of its work"
        starts, earliest_end = windows
        indices = []
        for draft, ranges in zip(drafts, starts, strict=True):
            indices.append(len(self.tasks))
            self.tasks.append(
                Task(
                    job=job,
                    service=draft.service,
                    operation=draft.operation,
                    modes=draft.modes,
                    bays=draft.bays,
                    parts=draft.parts,
                    skill=draft.skill,
                    kind=draft.kind,
                    starts=ranges,
                    pin=draft.pin,
                    preferred=draft.preferred,
                    previous_technician=draft.previous,
                )
            )
        return tuple(indices), earliest_end, None

    def _why_no_technician(self, skill: str, minutes: int, what: str) -> str:
        techs = [t for t in self.day.workshop.technicians if skill in t.skills]
        if not any(t.working_windows() for t in techs):
            return f"no technician with skill {skill!r} on shift ({what})"
        return (
            f"no technician with skill {skill!r} has {minutes} free minutes in a row on shift "
            f"({what})"
        )

    def _task_domain(self, draft: _Draft) -> Domain:
        """Starts at which some mode's technician and some bay are free for the task."""
        tech = Domain.from_intervals([])
        for m in draft.modes:
            tech = tech.union_with(self._tech_domain(m.technician, m.duration))
        shortest = min(m.duration for m in draft.modes)
        bay = Domain.from_intervals([])
        for b in draft.bays:
            bay = bay.union_with(self._bay_domain(b, shortest))
        return tech.intersection_with(bay)

    def _windows(self, booking: Booking, drafts: list[_Draft]) -> tuple[list[Ranges], int] | None:
        """Each task's start window from a forward and a backward pass, and the earliest end.

        Forward: a task starts no earlier than the previous one can end, at a minute some
        qualified technician and matching bay are free and its parts are on the shelf. Backward:
        no later than the next task's latest start allows. None when some window is empty.
        """
        domains: list[Domain | None] = []
        ready = booking.arrival
        for draft in drafts:
            if draft.pin is not None:
                domains.append(None)
                ready = draft.pin.end
                continue
            domain = self._task_domain(draft)
            lower = max(ready, draft.parts_ready)
            domain = domain.intersection_with(Domain(lower, self.horizon))
            if domain.is_empty():
                return None
            best_end: int | None = None
            for m in draft.modes:
                mode_domain = domain.intersection_with(self._tech_domain(m.technician, m.duration))
                if not mode_domain.is_empty():
                    end = mode_domain.min() + m.duration
                    best_end = end if best_end is None else min(best_end, end)
            if best_end is None:
                return None
            domains.append(domain)
            ready = best_end
        earliest_end = ready
        latest_end = self.horizon
        out: list[Ranges] = [()] * len(drafts)
        for k in range(len(drafts) - 1, -1, -1):
            draft = drafts[k]
            domain = domains[k]
            if draft.pin is not None or domain is None:
                latest_end = draft.pin.start if draft.pin is not None else latest_end
                continue
            latest: int | None = None
            for m in draft.modes:
                mode_domain = domain.intersection_with(
                    self._tech_domain(m.technician, m.duration)
                ).intersection_with(Domain(0, latest_end - m.duration))
                if not mode_domain.is_empty():
                    latest = mode_domain.max() if latest is None else max(latest, mode_domain.max())
            if latest is None:
                return None
            domain = domain.intersection_with(Domain(0, latest))
            if not self.tight:
                domain = Domain(
                    booking.arrival, self.horizon - min(m.duration for m in draft.modes)
                )
            out[k] = to_ranges(domain)
            latest_end = latest
        return out, earliest_end


@dataclass(frozen=True, slots=True)
class _Draft:
    """A task being worked out, before its start window is known."""

    service: str
    operation: int
    modes: tuple[Mode, ...]
    bays: tuple[int, ...]
    parts: tuple[tuple[int, int], ...]
    skill: str
    kind: str
    preferred: int | None
    pin: Pin | None
    previous: int | None
    parts_ready: int = 0
