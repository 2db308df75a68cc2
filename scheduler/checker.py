"""The plan checker: re-verifies every hard rule of DESIGN.md and recomputes the objective.

It is written without any reference to how plans are made, so it can judge a dispatch plan, a
CP-SAT plan, a re-plan or a file someone edited by hand alike. Each violation has a kind and a
sentence a service manager can read. A plan is valid when the list is empty.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

from scheduler.clock import format_hhmm
from scheduler.domain import MINUTES_PER_DAY, Day, Window, operation_duration
from scheduler.plan import Assignment, Plan, objective_parts

# Claimed numbers may have passed through a binary float in someone else's JSON writer.
_TOLERANCE = Fraction(1, 1_000_000)


class ViolationKind(enum.StrEnum):
    """What rule a plan breaks."""

    UNKNOWN_BOOKING = "unknown-booking"
    BOOKING_MISSING = "booking-missing"
    BOOKING_TWICE = "booking-twice"
    UNKNOWN_OPERATION = "unknown-operation"
    OPERATION_MISSING = "operation-missing"
    OPERATION_TWICE = "operation-twice"
    UNKNOWN_TECHNICIAN = "unknown-technician"
    UNKNOWN_BAY = "unknown-bay"
    SKILL = "skill"
    BAY_KIND = "bay-kind"
    DURATION = "duration"
    TIME_RANGE = "time-range"
    SHIFT = "shift"
    BREAK = "break"
    ABSENCE = "absence"
    BAY_UNAVAILABLE = "bay-unavailable"
    TECHNICIAN_OVERLAP = "technician-overlap"
    BAY_OVERLAP = "bay-overlap"
    BEFORE_ARRIVAL = "before-arrival"
    PRECEDENCE = "precedence"
    PARTS = "parts"
    OBJECTIVE = "objective"
    LOWER_BOUND = "lower-bound"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: its kind and a sentence saying where and how."""

    kind: ViolationKind
    message: str

    def __str__(self) -> str:
        return f"[{self.kind.value}] {self.message}"


def _span(a: Assignment) -> str:
    return f"{format_hhmm(a.start)}-{format_hhmm(a.end)}"


def _label(a: Assignment) -> str:
    return f"{a.booking} {a.service}#{a.operation} ({_span(a)})"


def _overlaps(start: int, end: int, window: Window) -> bool:
    return start < window[1] and window[0] < end


def check_plan(day: Day, plan: Plan) -> list[Violation]:
    """Every hard rule the plan breaks, in a stable order; empty when the plan is valid."""
    out: list[Violation] = []
    known = _check_coverage(day, plan, out)
    _check_resources(day, known, out)
    _check_overlaps(known, out)
    _check_sequence(day, known, out)
    _check_parts(day, known, out)
    _check_objective(day, plan, out)
    return out


def _check_coverage(day: Day, plan: Plan, out: list[Violation]) -> list[Assignment]:
    """Each booking all in or out, each operation exactly once; returns checkable assignments."""
    ws = day.workshop
    booking_ids = {b.id for b in day.bookings}
    by_booking: dict[str, list[Assignment]] = defaultdict(list)
    known: list[Assignment] = []
    for a in plan.assignments:
        if a.booking not in booking_ids:
            out.append(
                Violation(
                    ViolationKind.UNKNOWN_BOOKING,
                    f"assignment {_label(a)} is for a booking not in the day",
                )
            )
            continue
        booking = day.booking(a.booking)
        service = ws.services.get(a.service)
        if a.service not in booking.services or service is None:
            out.append(
                Violation(
                    ViolationKind.UNKNOWN_OPERATION,
                    f"{_label(a)}: booking {a.booking} did not ask for {a.service}",
                )
            )
            continue
        if not 0 <= a.operation < len(service.operations):
            out.append(
                Violation(
                    ViolationKind.UNKNOWN_OPERATION,
                    f"{_label(a)}: {a.service} has no operation {a.operation}",
                )
            )
            continue
        by_booking[a.booking].append(a)
        known.append(a)
    unscheduled_count: dict[str, int] = defaultdict(int)
    for u in plan.unscheduled:
        unscheduled_count[u.booking] += 1
        if u.booking not in booking_ids:
            out.append(
                Violation(
                    ViolationKind.UNKNOWN_BOOKING,
                    f"unscheduled booking {u.booking} is not in the day",
                )
            )
    for booking in day.bookings:
        listed = unscheduled_count.get(booking.id, 0)
        if listed > 1:
            out.append(
                Violation(
                    ViolationKind.BOOKING_TWICE,
                    f"booking {booking.id} is listed {listed} times as unscheduled",
                )
            )
        if listed and booking.id in by_booking:
            out.append(
                Violation(
                    ViolationKind.BOOKING_TWICE,
                    f"booking {booking.id} is both scheduled and unscheduled",
                )
            )
        if not listed and booking.id not in by_booking:
            out.append(
                Violation(
                    ViolationKind.BOOKING_MISSING,
                    f"booking {booking.id} is neither scheduled nor unscheduled",
                )
            )
        if booking.id not in by_booking:
            continue
        counts: dict[tuple[str, int], int] = defaultdict(int)
        for a in by_booking[booking.id]:
            counts[(a.service, a.operation)] += 1
        for code in booking.services:
            for index in range(len(ws.services[code].operations)):
                n = counts.get((code, index), 0)
                if n == 0:
                    out.append(
                        Violation(
                            ViolationKind.OPERATION_MISSING,
                            f"booking {booking.id} is scheduled without {code}#{index}",
                        )
                    )
                elif n > 1:
                    out.append(
                        Violation(
                            ViolationKind.OPERATION_TWICE,
                            f"booking {booking.id} has {code}#{index} {n} times",
                        )
                    )
    return known


def _check_resources(day: Day, assignments: list[Assignment], out: list[Violation]) -> None:
    """Skill, bay kind, duration, shifts, breaks, absences and bay unavailability."""
    ws = day.workshop
    techs = {t.id: t for t in ws.technicians}
    bays = {b.id: b for b in ws.bays}
    for a in assignments:
        op = ws.services[a.service].operations[a.operation]
        if not 0 <= a.start < a.end <= MINUTES_PER_DAY:
            out.append(
                Violation(
                    ViolationKind.TIME_RANGE,
                    f"{_label(a)} does not lie within the day with start < end",
                )
            )
        tech = techs.get(a.technician)
        if tech is None:
            out.append(
                Violation(
                    ViolationKind.UNKNOWN_TECHNICIAN, f"{_label(a)}: no technician {a.technician!r}"
                )
            )
        else:
            if op.skill not in tech.skills:
                out.append(
                    Violation(
                        ViolationKind.SKILL, f"{_label(a)}: {tech.id} lacks skill {op.skill!r}"
                    )
                )
            expected = operation_duration(op.minutes, tech.efficiency)
            if a.end - a.start != expected:
                out.append(
                    Violation(
                        ViolationKind.DURATION,
                        f"{_label(a)} lasts {a.end - a.start} min; {op.minutes} min at "
                        f"{tech.id}'s efficiency {float(tech.efficiency):g} is {expected} min",
                    )
                )
            if a.start < tech.shift[0] or a.end > tech.shift[1]:
                out.append(
                    Violation(
                        ViolationKind.SHIFT,
                        f"{_label(a)} is outside {tech.id}'s shift "
                        f"{format_hhmm(tech.shift[0])}-{format_hhmm(tech.shift[1])}",
                    )
                )
            for window in tech.breaks:
                if _overlaps(a.start, a.end, window):
                    out.append(
                        Violation(
                            ViolationKind.BREAK,
                            f"{_label(a)} overlaps {tech.id}'s break "
                            f"{format_hhmm(window[0])}-{format_hhmm(window[1])}",
                        )
                    )
            for window in tech.absent:
                if _overlaps(a.start, a.end, window):
                    out.append(
                        Violation(
                            ViolationKind.ABSENCE,
                            f"{_label(a)} overlaps {tech.id}'s absence "
                            f"{format_hhmm(window[0])}-{format_hhmm(window[1])}",
                        )
                    )
        bay = bays.get(a.bay)
        if bay is None:
            out.append(Violation(ViolationKind.UNKNOWN_BAY, f"{_label(a)}: no bay {a.bay!r}"))
            continue
        if op.bay not in bay.kinds:
            out.append(
                Violation(
                    ViolationKind.BAY_KIND, f"{_label(a)}: bay {bay.id} is not of kind {op.bay!r}"
                )
            )
        for window in bay.unavailable:
            if _overlaps(a.start, a.end, window):
                out.append(
                    Violation(
                        ViolationKind.BAY_UNAVAILABLE,
                        f"{_label(a)} uses bay {bay.id} while unavailable "
                        f"{format_hhmm(window[0])}-{format_hhmm(window[1])}",
                    )
                )


def _check_overlaps(assignments: list[Assignment], out: list[Violation]) -> None:
    """A technician and a bay hold one operation at a time."""
    for kind, key, noun in (
        (ViolationKind.TECHNICIAN_OVERLAP, "technician", "technician"),
        (ViolationKind.BAY_OVERLAP, "bay", "bay"),
    ):
        by_resource: dict[str, list[Assignment]] = defaultdict(list)
        for a in assignments:
            by_resource[getattr(a, key)].append(a)
        for resource, items in sorted(by_resource.items()):
            items.sort(key=lambda a: (a.start, a.end))
            latest: Assignment = items[0]
            for a in items[1:]:
                if a.start < latest.end:
                    out.append(
                        Violation(
                            kind,
                            f"{noun} {resource} holds {_label(latest)} and {_label(a)} at once",
                        )
                    )
                if a.end > latest.end:
                    latest = a


def _check_sequence(day: Day, assignments: list[Assignment], out: list[Violation]) -> None:
    """Operations in catalogue order, none before the car arrives."""
    by_booking: dict[str, dict[tuple[str, int], Assignment]] = defaultdict(dict)
    for a in assignments:
        by_booking[a.booking].setdefault((a.service, a.operation), a)
    for booking_id, ops in by_booking.items():
        booking = day.booking(booking_id)
        previous: Assignment | None = None
        for code in booking.services:
            for index in range(len(day.workshop.services[code].operations)):
                current = ops.get((code, index))
                if current is None:
                    continue
                if current.start < booking.arrival:
                    out.append(
                        Violation(
                            ViolationKind.BEFORE_ARRIVAL,
                            f"{_label(current)} starts before the car arrives at "
                            f"{format_hhmm(booking.arrival)}",
                        )
                    )
                if previous is not None and current.start < previous.end:
                    out.append(
                        Violation(
                            ViolationKind.PRECEDENCE,
                            f"{_label(current)} starts before {_label(previous)} ends",
                        )
                    )
                previous = current


def _check_parts(day: Day, assignments: list[Assignment], out: list[Violation]) -> None:
    """Parts taken at each start never exceed stock on hand plus deliveries arrived."""
    ws = day.workshop
    takes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for a in assignments:
        for sku, qty in ws.services[a.service].operations[a.operation].parts.items():
            takes[sku][a.start] += qty
    for sku, by_minute in sorted(takes.items()):
        part = ws.parts[sku]
        taken = 0
        for minute in sorted(by_minute):
            taken += by_minute[minute]
            available = part.on_hand + sum(q for at, q in part.deliveries if at <= minute)
            if taken > available:
                out.append(
                    Violation(
                        ViolationKind.PARTS,
                        f"part {sku}: {taken} taken by {format_hhmm(minute)} but only "
                        f"{available} on the shelf by then",
                    )
                )
                break


def _check_objective(day: Day, plan: Plan, out: list[Violation]) -> None:
    """The claimed objective, its parts and the bound agree with the schedule."""
    parts = objective_parts(day, plan.assignments, plan.unscheduled)
    for name, claimed, actual in (
        ("objective", plan.objective, parts.total),
        ("weighted_wait", plan.parts.weighted_wait, parts.weighted_wait),
        ("unscheduled_penalty", plan.parts.unscheduled_penalty, parts.unscheduled_penalty),
    ):
        if abs(claimed - actual) > _TOLERANCE:
            out.append(
                Violation(
                    ViolationKind.OBJECTIVE,
                    f"{name} is claimed as {float(claimed):g} but the schedule gives "
                    f"{float(actual):g}",
                )
            )
    if plan.lower_bound > plan.objective + _TOLERANCE:
        out.append(
            Violation(
                ViolationKind.LOWER_BOUND,
                f"lower_bound {float(plan.lower_bound):g} exceeds objective "
                f"{float(plan.objective):g}",
            )
        )
