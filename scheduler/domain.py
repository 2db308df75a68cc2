"""The workshop as the planner sees it: bays, technicians, the service catalogue, parts, bookings.

A dealership service department has service bays (lifts, an EV bay, a tyre bay, an alignment
rig, a wash), technicians with skills and shifts, and a parts store with stock on hand and
deliveries due during the day. Customers book services and either drop the car off or wait for
it. Everything here is immutable and validated on construction, so planners, the checker, the
simulation and the service can assume the data is consistent.

Time inside the engines is integer minutes since midnight of the plan's day, local to the
workshop. Windows are half-open ``[start, end)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType

Window = tuple[int, int]
"""A half-open interval ``[start, end)`` of minutes since midnight."""

MINUTES_PER_DAY = 24 * 60
DEFAULT_WAITER_WEIGHT = Fraction(2)
UNSCHEDULED_PENALTY_PER_WEIGHT = 10_000


def _check_window(window: Window, what: str) -> None:
    start, end = window
    if not 0 <= start < end <= MINUTES_PER_DAY:
        raise ValueError(f"{what} must satisfy 00:00 <= start < end <= 24:00, got {window}")


def merge_windows(windows: Iterable[Window]) -> tuple[Window, ...]:
    """Merge overlapping or touching half-open windows into a sorted, disjoint tuple."""
    merged: list[list[int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return tuple((s, e) for s, e in merged)


def efficiency_hundredths(efficiency: Fraction) -> int:
    """Return an efficiency as an exact integer number of hundredths (1.25 -> 125)."""
    hundredths = efficiency * 100
    if hundredths.denominator != 1:
        raise ValueError(f"efficiency must have at most two decimals, got {float(efficiency)}")
    return int(hundredths)


def operation_duration(minutes: int, efficiency: Fraction) -> int:
    """Return ``ceil(minutes * efficiency)`` in exact integer arithmetic (50 at 1.1 is 55)."""
    return -(-minutes * efficiency_hundredths(efficiency) // 100)


@dataclass(frozen=True, slots=True)
class Operation:
    """One step of a service: who may do it, where, for how long, with which parts."""

    skill: str
    bay: str  # the bay kind it needs, e.g. "lift"
    minutes: int  # standard minutes, before technician efficiency
    parts: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not self.skill:
            raise ValueError("operation skill must not be empty")
        if not self.bay:
            raise ValueError("operation bay kind must not be empty")
        if self.minutes <= 0:
            raise ValueError(f"operation minutes must be positive, got {self.minutes}")
        for sku, qty in self.parts.items():
            if qty <= 0:
                raise ValueError(f"part {sku!r} quantity must be positive, got {qty}")
        object.__setattr__(self, "parts", MappingProxyType(dict(self.parts)))


@dataclass(frozen=True, slots=True)
class Service:
    """A catalogue entry: a named, ordered list of operations (diagnose, repair, wash)."""

    code: str
    name: str
    operations: tuple[Operation, ...]

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("service code must not be empty")
        if not self.operations:
            raise ValueError(f"service {self.code!r} must have at least one operation")


@dataclass(frozen=True, slots=True)
class Bay:
    """A physical place to work on a car; ``kinds`` says what it is equipped for."""

    id: str
    kinds: frozenset[str]
    unavailable: tuple[Window, ...] = ()

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("bay id must not be empty")
        if not self.kinds:
            raise ValueError(f"bay {self.id!r} must support at least one kind")
        for window in self.unavailable:
            _check_window(window, f"bay {self.id!r} unavailable window")


@dataclass(frozen=True, slots=True)
class Technician:
    """A person who does operations matching their skills during their shift."""

    id: str
    name: str
    skills: frozenset[str]
    shift: Window
    breaks: tuple[Window, ...] = ()
    efficiency: Fraction = Fraction(1)  # duration multiplier: 1.25 takes a quarter longer
    absent: tuple[Window, ...] = ()
    _hundredths: int = field(init=False, repr=False, compare=False)
    _working: tuple[Window, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("technician id must not be empty")
        _check_window(self.shift, f"technician {self.id!r} shift")
        for window in self.breaks:
            _check_window(window, f"technician {self.id!r} break")
        for window in self.absent:
            _check_window(window, f"technician {self.id!r} absence")
        if self.efficiency <= 0:
            raise ValueError(f"technician {self.id!r} efficiency must be positive")
        # Durations are asked for millions of times by planners: keep the exact factor as an int.
        object.__setattr__(self, "_hundredths", efficiency_hundredths(self.efficiency))
        object.__setattr__(self, "_working", self._compute_working_windows())

    def duration(self, operation: Operation) -> int:
        """Minutes this technician needs for ``operation``: ``ceil(minutes * efficiency)``."""
        return -(-operation.minutes * self._hundredths // 100)

    def off_duty(self) -> tuple[Window, ...]:
        """Breaks and absences inside the day, merged (they may overlap one another)."""
        return merge_windows((*self.breaks, *self.absent))

    def working_windows(self) -> tuple[Window, ...]:
        """The parts of the shift when the technician can work: shift minus breaks and absences."""
        return self._working

    def _compute_working_windows(self) -> tuple[Window, ...]:
        windows: list[Window] = []
        cursor, shift_end = self.shift
        for start, end in self.off_duty():
            if end <= cursor:
                continue
            if start >= shift_end:
                break
            if start > cursor:
                windows.append((cursor, start))
            cursor = max(cursor, end)
        if cursor < shift_end:
            windows.append((cursor, shift_end))
        return tuple(windows)


@dataclass(frozen=True, slots=True)
class Part:
    """A stocked part: what is on the shelf at opening and what arrives during the day."""

    sku: str
    on_hand: int
    deliveries: tuple[tuple[int, int], ...] = ()  # (minute, quantity), sorted by minute

    def __post_init__(self) -> None:
        if not self.sku:
            raise ValueError("part sku must not be empty")
        if self.on_hand < 0:
            raise ValueError(f"part {self.sku!r} on_hand must not be negative")
        for minute, qty in self.deliveries:
            if not 0 <= minute <= MINUTES_PER_DAY:
                raise ValueError(f"part {self.sku!r} delivery time must lie within the day")
            if qty <= 0:
                raise ValueError(f"part {self.sku!r} delivery quantity must be positive")
        object.__setattr__(self, "deliveries", tuple(sorted(self.deliveries)))

    def available_by(self, minute: int) -> int:
        """Units that have arrived by ``minute`` (a delivery at 10:30 serves a 10:30 start)."""
        return self.on_hand + sum(qty for at, qty in self.deliveries if at <= minute)

    @property
    def total(self) -> int:
        """Everything that will be on the shelf by the end of the day."""
        return self.on_hand + sum(qty for _, qty in self.deliveries)


@dataclass(frozen=True, slots=True)
class Booking:
    """A customer's car booked in for one or more services on the day."""

    id: str
    services: tuple[str, ...]
    arrival: int
    waiting: bool = False  # True: the customer sits in the lounge until the car is ready
    promised: int | None = None  # promised ready time; None means closing time
    priority: Fraction = Fraction(1)
    technician: str | None = None  # a preference, honoured where it costs no waiting
    customer: str = ""
    vehicle: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("booking id must not be empty")
        if not self.services:
            raise ValueError(f"booking {self.id!r} must list at least one service")
        if len(set(self.services)) != len(self.services):
            raise ValueError(f"booking {self.id!r} lists a service code more than once")
        if not 0 <= self.arrival < MINUTES_PER_DAY:
            raise ValueError(f"booking {self.id!r} arrival must lie within the day")
        if self.promised is not None and self.promised < self.arrival:
            raise ValueError(f"booking {self.id!r} is promised before it arrives")
        if self.priority <= 0:
            raise ValueError(f"booking {self.id!r} priority must be positive")


@dataclass(frozen=True, slots=True)
class Workshop:
    """A service department: bays, technicians, its service catalogue and parts store."""

    id: str
    name: str
    timezone: str
    open: int
    close: int
    bays: tuple[Bay, ...]
    technicians: tuple[Technician, ...]
    services: Mapping[str, Service]
    parts: Mapping[str, Part] = field(default_factory=lambda: MappingProxyType({}))
    waiter_weight: Fraction = DEFAULT_WAITER_WEIGHT

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("workshop id must not be empty")
        _check_window((self.open, self.close), "opening hours")
        if self.waiter_weight <= 0:
            raise ValueError("waiter_weight must be positive")
        for what, ids in (
            ("bay", [b.id for b in self.bays]),
            ("technician", [t.id for t in self.technicians]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {what} id {dupes[0]!r}")
        kinds = {k for b in self.bays for k in b.kinds}
        skills = {s for t in self.technicians for s in t.skills}
        for service in self.services.values():
            for op in service.operations:
                if op.skill not in skills:
                    raise ValueError(
                        f"service {service.code!r} needs skill {op.skill!r} no technician has"
                    )
                if op.bay not in kinds:
                    raise ValueError(
                        f"service {service.code!r} needs bay kind {op.bay!r} no bay has"
                    )
                for sku in op.parts:
                    if sku not in self.parts:
                        raise ValueError(f"service {service.code!r} uses unknown part {sku!r}")
        object.__setattr__(self, "services", MappingProxyType(dict(self.services)))
        object.__setattr__(self, "parts", MappingProxyType(dict(self.parts)))

    def bay(self, bay_id: str) -> Bay:
        """Return the bay with ``bay_id`` (KeyError if there is none)."""
        for bay in self.bays:
            if bay.id == bay_id:
                return bay
        raise KeyError(bay_id)

    def technician(self, technician_id: str) -> Technician:
        """Return the technician with ``technician_id`` (KeyError if there is none)."""
        for tech in self.technicians:
            if tech.id == technician_id:
                return tech
        raise KeyError(technician_id)


@dataclass(frozen=True, slots=True)
class Day:
    """One workshop and its bookings for one date: the planner's whole input."""

    workshop: Workshop
    date: dt.date
    bookings: tuple[Booking, ...]
    _by_id: Mapping[str, Booking] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ws = self.workshop
        seen: dict[str, Booking] = {}
        tech_ids = {t.id for t in ws.technicians}
        for b in self.bookings:
            if b.id in seen:
                raise ValueError(f"duplicate booking id {b.id!r}")
            seen[b.id] = b
            for code in b.services:
                if code not in ws.services:
                    raise ValueError(f"booking {b.id!r} asks for unknown service {code!r}")
            if b.technician is not None and b.technician not in tech_ids:
                raise ValueError(f"booking {b.id!r} prefers unknown technician {b.technician!r}")
        object.__setattr__(self, "_by_id", MappingProxyType(seen))

    def booking(self, booking_id: str) -> Booking:
        """Return the booking with ``booking_id`` (KeyError if there is none)."""
        return self._by_id[booking_id]

    def operations(self, booking: Booking) -> list[tuple[str, int, Operation]]:
        """The booking's operations in the order they must run: (service code, index, op)."""
        return [
            (code, index, op)
            for code in booking.services
            for index, op in enumerate(self.workshop.services[code].operations)
        ]

    def weight(self, booking: Booking) -> Fraction:
        """``priority * waiter_weight`` for a waiter, ``priority`` for a drop-off."""
        if booking.waiting:
            return booking.priority * self.workshop.waiter_weight
        return booking.priority

    def promised(self, booking: Booking) -> int:
        """The promised ready time; a drop-off with none is due at closing time."""
        return self.workshop.close if booking.promised is None else booking.promised

    def wait(self, booking: Booking, ready: int) -> int:
        """Minutes the customer waits if the car is ready at ``ready`` (DESIGN.md objective)."""
        if booking.waiting:
            return ready - booking.arrival
        return max(0, ready - self.promised(booking))
