"""The plan checker: one hand-made plan per rule, each breaking exactly that rule."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

from scheduler.checker import ViolationKind, check_plan
from scheduler.domain import Day
from scheduler.plan import Assignment, Unscheduled
from tests.utils import build, op, tiny_valid_assignments


def _replace(assignments: list[Assignment], booking: str, service: str, new: Assignment) -> list:
    return [a for a in assignments if (a.booking, a.service) != (booking, service)] + [new]


def test_valid_plan_passes_and_objective_is_worked_out_by_hand(tiny_day: Day) -> None:
    plan = build(tiny_day, tiny_valid_assignments())
    assert check_plan(tiny_day, plan) == []
    # B1: waiter 08:00 -> 09:10 = 70 min x weight 2 = 140.
    # B2: drop-off promised 09:00, ready 10:55 = 115 min late x priority 1.5 = 172.5.
    # B3: ready 09:30, promised 12:00: on time.
    assert plan.parts.weighted_wait == Fraction(625, 2)
    assert plan.parts.unscheduled_penalty == 0
    assert plan.objective == Fraction(625, 2)


def test_unscheduled_booking_costs_its_penalty(tiny_day: Day) -> None:
    kept = [a for a in tiny_valid_assignments() if a.booking != "B2"]
    plan = build(tiny_day, kept, [Unscheduled("B2", "no oil")])
    assert check_plan(tiny_day, plan) == []
    assert plan.parts.unscheduled_penalty == 10_000 * Fraction(3, 2)


def _valid() -> list[Assignment]:
    return tiny_valid_assignments()


def _broken_plans() -> dict[ViolationKind, tuple[list[Assignment], list[Unscheduled]]]:
    """For each rule, a plan that breaks that rule and no other."""
    v = _valid
    return {
        ViolationKind.UNKNOWN_BOOKING: ([*v(), op("B9", "WASH", "T1", "W1", "10:00", "10:20")], []),
        ViolationKind.BOOKING_MISSING: ([a for a in v() if a.booking != "B2"], []),
        ViolationKind.BOOKING_TWICE: (v(), [Unscheduled("B2", "twice")]),
        ViolationKind.UNKNOWN_OPERATION: (
            [
                *v(),
                dataclasses.replace(op("B3", "WASH", "T1", "W1", "10:00", "10:20"), operation=3),
            ],
            [],
        ),
        ViolationKind.OPERATION_MISSING: (
            [a for a in v() if (a.booking, a.service) != ("B1", "WASH")],
            [],
        ),
        ViolationKind.OPERATION_TWICE: ([*v(), op("B1", "WASH", "T1", "W1", "09:30", "09:50")], []),
        ViolationKind.UNKNOWN_TECHNICIAN: (
            _replace(v(), "B3", "WASH", op("B3", "WASH", "T9", "W1", "09:10", "09:30")),
            [],
        ),
        ViolationKind.UNKNOWN_BAY: (
            _replace(v(), "B3", "WASH", op("B3", "WASH", "T1", "W9", "09:10", "09:30")),
            [],
        ),
        ViolationKind.SKILL: (
            _replace(v(), "B3", "WASH", op("B3", "WASH", "T2", "W1", "09:10", "09:32")),
            [],
        ),
        ViolationKind.BAY_KIND: (
            _replace(v(), "B3", "WASH", op("B3", "WASH", "T1", "L1", "09:10", "09:30")),
            [],
        ),
        ViolationKind.DURATION: (
            _replace(v(), "B2", "OIL", op("B2", "OIL", "T2", "L1", "10:00", "10:50")),
            [],
        ),
        ViolationKind.SHIFT: (
            _replace(v(), "B2", "OIL", op("B2", "OIL", "T2", "L1", "16:30", "17:25")),
            [],
        ),
        ViolationKind.BREAK: (
            _replace(v(), "B2", "OIL", op("B2", "OIL", "T1", "L1", "12:00", "12:50")),
            [],
        ),
        ViolationKind.ABSENCE: (
            _replace(v(), "B2", "OIL", op("B2", "OIL", "T2", "L1", "13:30", "14:25")),
            [],
        ),
        ViolationKind.BAY_UNAVAILABLE: (
            _replace(v(), "B3", "WASH", op("B3", "WASH", "T1", "W1", "12:40", "13:00")),
            [],
        ),
        ViolationKind.TECHNICIAN_OVERLAP: (
            _replace(
                _replace(v(), "B2", "OIL", op("B2", "OIL", "T1", "L1", "10:00", "10:50")),
                "B3",
                "WASH",
                op("B3", "WASH", "T1", "W1", "10:30", "10:50"),
            ),
            [],
        ),
        ViolationKind.BAY_OVERLAP: (
            _replace(
                _replace(v(), "B1", "OIL", op("B1", "OIL", "T1", "L1", "10:10", "11:00")),
                "B1",
                "WASH",
                op("B1", "WASH", "T1", "W1", "11:00", "11:20"),
            ),
            [],
        ),
        ViolationKind.BEFORE_ARRIVAL: (
            _replace(
                _replace(v(), "B1", "WASH", op("B1", "WASH", "T1", "W1", "09:10", "09:30")),
                "B3",
                "WASH",
                op("B3", "WASH", "T1", "W1", "08:50", "09:10"),
            ),
            [],
        ),
        ViolationKind.PRECEDENCE: (
            _replace(
                _replace(v(), "B1", "OIL", op("B1", "OIL", "T2", "L1", "08:00", "08:55")),
                "B1",
                "WASH",
                op("B1", "WASH", "T1", "W1", "08:30", "08:50"),
            ),
            [],
        ),
        ViolationKind.PARTS: (
            _replace(v(), "B2", "OIL", op("B2", "OIL", "T2", "L1", "09:00", "09:55")),
            [],
        ),
    }


@pytest.mark.parametrize("kind", list(_broken_plans()), ids=lambda k: k.value)
def test_each_rule_is_caught_alone(tiny_day: Day, kind: ViolationKind) -> None:
    assignments, unscheduled = _broken_plans()[kind]
    plan = build(tiny_day, assignments, unscheduled)
    violations = check_plan(tiny_day, plan)
    assert {v.kind for v in violations} == {kind}, violations
    assert all(v.message for v in violations)


def test_every_rule_has_a_broken_plan() -> None:
    covered = set(_broken_plans()) | {
        ViolationKind.OBJECTIVE,
        ViolationKind.LOWER_BOUND,
        ViolationKind.TIME_RANGE,
    }
    assert covered == set(ViolationKind)


def test_wrong_claimed_objective_is_caught(tiny_day: Day) -> None:
    plan = build(tiny_day, tiny_valid_assignments())
    lying = dataclasses.replace(plan, objective=plan.objective - 1)
    assert {v.kind for v in check_plan(tiny_day, lying)} == {ViolationKind.OBJECTIVE}
    wrong_part = dataclasses.replace(
        plan, parts=dataclasses.replace(plan.parts, weighted_wait=Fraction(300))
    )
    assert {v.kind for v in check_plan(tiny_day, wrong_part)} == {ViolationKind.OBJECTIVE}


def test_bound_above_objective_is_caught(tiny_day: Day) -> None:
    plan = build(tiny_day, tiny_valid_assignments())
    assert check_plan(tiny_day, dataclasses.replace(plan, lower_bound=plan.objective)) == []
    too_high = dataclasses.replace(plan, lower_bound=plan.objective + Fraction(1, 2))
    assert {v.kind for v in check_plan(tiny_day, too_high)} == {ViolationKind.LOWER_BOUND}


def test_operation_ending_after_midnight_is_caught(tiny_day: Day) -> None:
    late = _replace(
        tiny_valid_assignments(), "B3", "WASH", op("B3", "WASH", "T1", "W1", "23:50", "00:10")
    )
    late[-1] = dataclasses.replace(late[-1], end=24 * 60 + 10)
    kinds = {v.kind for v in check_plan(tiny_day, build(tiny_day, late))}
    assert ViolationKind.TIME_RANGE in kinds


def test_windows_are_half_open(tiny_day: Day) -> None:
    """An operation may end exactly when a break starts and start exactly when it ends."""
    assignments = _replace(
        tiny_valid_assignments(), "B3", "WASH", op("B3", "WASH", "T1", "W1", "11:40", "12:00")
    )
    assert check_plan(tiny_day, build(tiny_day, assignments)) == []
    assignments = _replace(
        tiny_valid_assignments(), "B3", "WASH", op("B3", "WASH", "T1", "W1", "13:00", "13:20")
    )
    assert check_plan(tiny_day, build(tiny_day, assignments)) == []


def test_delivery_serves_an_operation_starting_at_its_minute(tiny_day: Day) -> None:
    """The valid plan starts B2 at exactly 10:00, when the oil delivery arrives."""
    assert any(a.booking == "B2" and a.start == 600 for a in tiny_valid_assignments())
    assert check_plan(tiny_day, build(tiny_day, tiny_valid_assignments())) == []
