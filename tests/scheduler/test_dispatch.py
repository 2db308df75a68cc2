"""Dispatch heuristics: every plan passes the checker; each hard rule is honoured when it binds."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

from scheduler.checker import check_plan
from scheduler.dispatch import RULES, BookingNotPlaced, Dispatcher
from scheduler.domain import Booking, Day, Part, Technician
from scheduler.plan import Assignment
from scheduler.solve import best_dispatch_plan, dispatch_plan, solve
from tests.utils import hm


def _with_workshop(day: Day, **changes: object) -> Day:
    return dataclasses.replace(day, workshop=dataclasses.replace(day.workshop, **changes))


def _with_bookings(day: Day, *bookings: Booking) -> Day:
    return dataclasses.replace(day, bookings=tuple(bookings))


def _ops(plan_assignments: tuple[Assignment, ...], booking: str) -> list[Assignment]:
    return sorted((a for a in plan_assignments if a.booking == booking), key=lambda a: a.start)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_gives_a_valid_plan(tiny_day: Day, rule: str) -> None:
    plan = dispatch_plan(tiny_day, rule)
    assert check_plan(tiny_day, plan) == []
    assert plan.lower_bound <= plan.objective


def test_fcfs_waits_for_the_oil_delivery(tiny_day: Day) -> None:
    plan = dispatch_plan(tiny_day, "fcfs")
    # B1 takes the 4 litres on hand at 08:00; B2 needs 4 more, which arrive at 10:00.
    (b2,) = _ops(plan.assignments, "B2")
    assert b2.start == hm("10:00")
    assert plan.unscheduled == ()


def test_dispatch_is_never_worse_than_fcfs(tiny_day: Day) -> None:
    fcfs = dispatch_plan(tiny_day, "fcfs")
    best = best_dispatch_plan(tiny_day)
    assert len(best.unscheduled) <= len(fcfs.unscheduled)
    assert best.objective <= fcfs.objective


def test_efficiency_sets_the_duration(tiny_day: Day) -> None:
    # T1 is away, only T2 (efficiency 1.1) can work: 50 standard minutes take 55.
    t1 = dataclasses.replace(tiny_day.workshop.technician("T1"), absent=((0, 24 * 60),))
    day = _with_workshop(tiny_day, technicians=(t1, tiny_day.workshop.technician("T2")))
    day = _with_bookings(day, Booking("X", ("OIL",), hm("08:00")))
    (a,) = dispatch_plan(day, "fcfs").assignments
    assert (a.technician, a.end - a.start) == ("T2", 55)


def test_preference_gives_way_when_it_would_cost_waiting(tiny_day: Day) -> None:
    # T2 would finish at 08:55, T1 at 08:50: the waiter is not kept waiting for a preference.
    day = _with_bookings(tiny_day, Booking("X", ("OIL",), hm("08:00"), True, technician="T2"))
    (a,) = dispatch_plan(day, "fcfs").assignments
    assert a.technician == "T1"


def test_preferred_technician_is_honoured_when_it_costs_nothing(tiny_day: Day) -> None:
    fast = dataclasses.replace(tiny_day.workshop.technician("T2"), efficiency=Fraction(1))
    techs = (tiny_day.workshop.technician("T1"), fast)
    day = _with_workshop(tiny_day, technicians=techs)
    for preferred in ("T1", "T2"):
        day2 = _with_bookings(day, Booking("X", ("OIL",), hm("08:00"), technician=preferred))
        (a,) = dispatch_plan(day2, "fcfs").assignments
        assert a.technician == preferred


def test_breaks_absences_and_bay_windows_are_respected(tiny_day: Day) -> None:
    # Wash jobs arriving at 11:40: the first ends exactly as T1's 12:00 break and W1's
    # 12:00-13:00 closure begin (half-open windows); the others wait until 13:00.
    bookings = tuple(Booking(f"W{i}", ("WASH",), hm("11:40"), waiting=True) for i in range(3))
    plan = dispatch_plan(_with_bookings(tiny_day, *bookings), "fcfs")
    assert check_plan(_with_bookings(tiny_day, *bookings), plan) == []
    starts = sorted(a.start for a in plan.assignments)
    assert starts == [hm("11:40"), hm("13:00"), hm("13:20")]


def test_overlapping_break_and_absence(tiny_day: Day) -> None:
    # T1 is away 11:00-12:15, overlapping the 12:00-12:30 break; 10:50-11:00 is too short, so
    # the wash waits for T1 (12:30) and for W1 to reopen (13:00).
    t1 = dataclasses.replace(
        tiny_day.workshop.technician("T1"), absent=((hm("11:00"), hm("12:15")),)
    )
    day = _with_workshop(tiny_day, technicians=(t1, tiny_day.workshop.technician("T2")))
    day = _with_bookings(day, Booking("X", ("WASH",), hm("10:50"), waiting=True))
    (a,) = dispatch_plan(day, "fcfs").assignments
    assert a.start == hm("13:00")
    assert check_plan(day, dispatch_plan(day, "fcfs")) == []


def test_booking_is_rolled_back_whole_when_a_later_operation_cannot_run(tiny_day: Day) -> None:
    # Nobody can wash (T1 absent all day): B1 (oil then wash) must leave no trace, so its
    # oil stays on the shelf and B2 starts at 08:00 instead of waiting for the delivery.
    t1 = dataclasses.replace(tiny_day.workshop.technician("T1"), absent=((0, 24 * 60),))
    day = _with_workshop(tiny_day, technicians=(t1, tiny_day.workshop.technician("T2")))
    plan = dispatch_plan(day, "fcfs")
    assert check_plan(day, plan) == []
    reasons = {u.booking: u.reason for u in plan.unscheduled}
    assert set(reasons) == {"B1", "B3"}
    assert "no technician with skill 'valet' on shift" in reasons["B1"]
    (b2,) = _ops(plan.assignments, "B2")
    assert b2.start == hm("08:00")


def test_part_short_all_day_has_a_reason(tiny_day: Day) -> None:
    parts = {"OIL": Part("OIL", 4)}
    day = _with_workshop(tiny_day, parts=parts)
    plan = dispatch_plan(day, "fcfs")
    assert check_plan(day, plan) == []
    (u,) = plan.unscheduled
    assert u.booking == "B2"
    assert "part OIL out of stock" in u.reason


def test_part_arriving_too_late_has_a_reason(tiny_day: Day) -> None:
    parts = {"OIL": Part("OIL", 4, ((hm("16:45"), 4),))}
    day = _with_workshop(tiny_day, parts=parts)
    plan = dispatch_plan(day, "fcfs")
    (u,) = plan.unscheduled
    assert u.booking == "B2"
    assert "out of stock until 16:45 and the job would end after" in u.reason


def test_no_time_left_on_shift_has_a_reason(tiny_day: Day) -> None:
    day = _with_bookings(tiny_day, Booking("LATE", ("OIL",), hm("16:40")))
    plan = dispatch_plan(day, "fcfs")
    (u,) = plan.unscheduled
    assert "no technician with skill 'general' has 50 minutes left on shift after 16:40" in (
        u.reason
    )


def test_full_day_has_a_reason(tiny_day: Day) -> None:
    short = tuple(
        dataclasses.replace(t, shift=(hm("08:00"), hm("09:30")), breaks=(), absent=())
        for t in tiny_day.workshop.technicians
    )
    day = _with_workshop(tiny_day, technicians=short, parts={"OIL": Part("OIL", 100)})
    bookings = tuple(Booking(f"X{i}", ("OIL",), hm("08:00")) for i in range(3))
    plan = dispatch_plan(_with_bookings(day, *bookings), "fcfs")
    # One lift: X0 runs 08:00-08:50, the next would end after both shifts end at 09:30.
    assert [u.booking for u in plan.unscheduled] == ["X1", "X2"]
    assert all("free together" in u.reason for u in plan.unscheduled)


def test_insertion_moves_nothing_already_placed(tiny_day: Day) -> None:
    plan = dispatch_plan(tiny_day, "fcfs")
    dispatcher = Dispatcher(tiny_day)
    for a in plan.assignments:
        dispatcher.reserve(a)
    walk_in = Booking("WALKIN", ("WASH",), hm("09:00"), waiting=True)
    placed = dispatcher.place(walk_in)
    day = _with_bookings(tiny_day, *tiny_day.bookings, walk_in)
    combined = dataclasses.replace(plan, assignments=(*plan.assignments, *placed))
    kinds = {v.kind.value for v in check_plan(day, combined)}
    assert kinds <= {"objective"}  # only the claimed objective is stale
    with pytest.raises(BookingNotPlaced):
        dispatcher.place(Booking("NOPE", ("WASH",), hm("17:00")))


def test_solve_rejects_unknown_method(tiny_day: Day) -> None:
    with pytest.raises(ValueError, match="unknown method"):
        solve(tiny_day, "magic")  # type: ignore[arg-type]


def test_technician_with_no_working_time_is_never_used(tiny_day: Day) -> None:
    gone = Technician("T3", "Gone", frozenset({"general"}), (480, 1020), absent=((0, 1440),))
    day = _with_workshop(tiny_day, technicians=(*tiny_day.workshop.technicians, gone))
    plan = dispatch_plan(day, "fcfs")
    assert all(a.technician != "T3" for a in plan.assignments)
    assert check_plan(day, plan) == []


def test_reserve_refuses_what_does_not_fit(tiny_day: Day) -> None:
    dispatcher = Dispatcher(tiny_day)
    first = Assignment(hm("08:00"), hm("08:50"), "B1", "OIL", 0, "L1", "T1")
    dispatcher.reserve(first)
    cases = {
        "not free": dataclasses.replace(
            first, booking="B2", bay="L1", technician="T2", end=hm("08:55")
        ),
        "lacks skill": Assignment(hm("09:00"), hm("09:22"), "B3", "WASH", 0, "W1", "T2"),
        "takes 55 minutes": Assignment(hm("10:00"), hm("10:50"), "B2", "OIL", 0, "L1", "T2"),
        "not in stock": Assignment(hm("09:00"), hm("09:55"), "B2", "OIL", 0, "L1", "T2"),
        "not free 12:00": Assignment(hm("12:00"), hm("12:20"), "B3", "WASH", 0, "W1", "T1"),
    }
    for expected, assignment in cases.items():
        problem = dispatcher.conflict(assignment)
        assert problem is not None and expected in problem, (expected, problem)
        with pytest.raises(BookingNotPlaced):
            dispatcher.reserve(assignment)
    # Nothing refused was recorded: the 10:00 delivery still serves a 55-minute oil change.
    assert (
        dispatcher.conflict(Assignment(hm("10:00"), hm("10:55"), "B2", "OIL", 0, "L1", "T2"))
        is None
    )


def test_place_from_a_later_operation(tiny_day: Day) -> None:
    """A started booking: only its remaining operations are placed, after ``ready``."""
    dispatcher = Dispatcher(tiny_day)
    b1 = tiny_day.booking("B1")
    (wash,) = dispatcher.place(b1, ready=hm("09:00"), first=1)
    assert (wash.service, wash.start) == ("WASH", hm("09:00"))
