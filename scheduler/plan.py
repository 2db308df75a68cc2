"""A plan for one day: who works on which car, in which bay, when; and what could not be placed.

A plan evaluates itself against the day (``evaluate``), whoever produced it: a dispatch rule,
CP-SAT, a re-plan, a hand-written test fixture or a file read back from disk.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from scheduler.domain import UNSCHEDULED_PENALTY_PER_WEIGHT, Day


class PlanStatus(enum.StrEnum):
    """How a plan was obtained, and what is proven about it."""

    OPTIMAL = "OPTIMAL"  # the solver proved no plan has a lower objective
    FEASIBLE = "FEASIBLE"  # the solver found it but did not prove optimality
    HEURISTIC = "HEURISTIC"  # a dispatch rule made it


@dataclass(frozen=True, slots=True, order=True)
class Assignment:
    """One operation of one booking on a technician in a bay, over ``[start, end)`` minutes."""

    start: int
    end: int
    booking: str
    service: str
    operation: int  # index within its service
    bay: str
    technician: str


@dataclass(frozen=True, slots=True)
class Unscheduled:
    """A booking left out of the day, with the reason a manager can act on."""

    booking: str
    reason: str


@dataclass(frozen=True, slots=True)
class ObjectiveParts:
    """The objective of DESIGN.md split into its parts, in exact arithmetic."""

    weighted_wait: Fraction
    unscheduled_penalty: Fraction

    @property
    def total(self) -> Fraction:
        """``weighted_wait + unscheduled_penalty``."""
        return self.weighted_wait + self.unscheduled_penalty


def ready_times(assignments: Iterable[Assignment]) -> dict[str, int]:
    """When each booking's car is ready: the end of its last operation."""
    ready: dict[str, int] = {}
    for a in assignments:
        ready[a.booking] = max(ready.get(a.booking, a.end), a.end)
    return ready


def objective_parts(
    day: Day, assignments: Iterable[Assignment], unscheduled: Iterable[Unscheduled]
) -> ObjectiveParts:
    """Recompute the objective from the schedule itself, exactly as DESIGN.md defines it.

    Ids that are not bookings of the day count for nothing here; the checker reports them.
    """
    known = {b.id for b in day.bookings}
    ready = ready_times(a for a in assignments if a.booking in known)
    weighted_wait = Fraction(0)
    for booking_id, at in ready.items():
        booking = day.booking(booking_id)
        weighted_wait += day.weight(booking) * day.wait(booking, at)
    penalty = Fraction(0)
    for u in unscheduled:
        if u.booking in known:
            penalty += UNSCHEDULED_PENALTY_PER_WEIGHT * day.weight(day.booking(u.booking))
    return ObjectiveParts(weighted_wait, penalty)


@dataclass(frozen=True, slots=True)
class Plan:
    """A day's plan: assignments, unscheduled bookings, objective, proven bound and status."""

    status: PlanStatus
    assignments: tuple[Assignment, ...]
    unscheduled: tuple[Unscheduled, ...]
    objective: Fraction
    parts: ObjectiveParts
    lower_bound: Fraction = Fraction(0)
    kpis: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def gap(self) -> float:
        """Relative optimality gap ``(objective - bound) / objective``; 0 when both are 0."""
        if self.objective <= 0:
            return 0.0
        return float((self.objective - self.lower_bound) / self.objective)

    @classmethod
    def build(
        cls,
        day: Day,
        assignments: Iterable[Assignment],
        unscheduled: Iterable[Unscheduled],
        *,
        status: PlanStatus,
        lower_bound: Fraction | int = 0,
    ) -> Plan:
        """Make a plan whose objective and KPIs are computed from its own schedule.

        Planners never report the objective they believe in; the schedule decides it.
        The bound is capped at the objective, since no proven bound can exceed a known plan.
        """
        from scheduler.kpis import compute_kpis  # kpis reads plans; import late to avoid a cycle

        assignments = tuple(sorted(assignments))
        unscheduled = tuple(unscheduled)
        parts = objective_parts(day, assignments, unscheduled)
        objective = parts.total
        bound = min(Fraction(lower_bound), objective)
        plan = cls(status, assignments, unscheduled, objective, parts, bound)
        return plan.with_kpis(compute_kpis(day, plan))

    def with_kpis(self, kpis: Mapping[str, Any]) -> Plan:
        """The same plan carrying ``kpis``."""
        return Plan(
            self.status,
            self.assignments,
            self.unscheduled,
            self.objective,
            self.parts,
            self.lower_bound,
            MappingProxyType(dict(kpis)),
        )

    def scheduled_bookings(self) -> set[str]:
        """Ids of bookings that have assignments."""
        return {a.booking for a in self.assignments}
