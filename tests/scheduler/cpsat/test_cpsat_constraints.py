"""One tiny day per constraint family, from both sides: where the rule binds and where it does not.

Each optimum is worked out by hand in the test's docstring; CP-SAT must reach it, say OPTIMAL, and
its plan must pass the checker. Waiters weigh 2 (the default waiter weight).
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from scheduler.checker import check_plan
from scheduler.cpsat import improve
from scheduler.cpsat.improve import LEFT_OUT
from scheduler.domain import Day
from scheduler.plan import Assignment, Plan, PlanStatus
from scheduler.solve import best_dispatch_plan, dispatch_plan
from tests.scheduler.cpsat.days import bay, booking, day, tech
from tests.utils import hm

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")  # no silent fall-backs


def optimal(d: Day, start: Plan | None = None) -> Plan:
    """CP-SAT's plan for a tiny day, checked: valid, proven optimal, bound equal to objective."""
    begin = best_dispatch_plan(d) if start is None else start
    plan = improve(d, begin, time_limit=20)
    assert check_plan(d, plan) == []
    assert plan.status == PlanStatus.OPTIMAL
    assert plan.lower_bound == plan.objective
    return plan


def ready(plan: Plan, booking_id: str) -> int:
    return max(a.end for a in plan.assignments if a.booking == booking_id)


def test_break_binds() -> None:
    """Waiter at 08:30 for a 60-minute check; the only technician breaks 09:00-09:30.

    The check cannot run 08:30-09:30, so it starts 09:30, ready 10:30: wait 120, objective 240.
    """
    d = day(
        [tech("T1", breaks=["09:00-09:30"])],
        [bay("L1")],
        [booking("B1", "CHECK", "08:30", waiting=True)],
    )
    plan = optimal(d)
    assert plan.objective == 240
    assert ready(plan, "B1") == hm("10:30")


def test_break_elsewhere_does_not_bind() -> None:
    """Same, break 10:00-10:30: the check runs 08:30-09:30, wait 60, objective 120."""
    d = day(
        [tech("T1", breaks=["10:00-10:30"])],
        [bay("L1")],
        [booking("B1", "CHECK", "08:30", waiting=True)],
    )
    assert optimal(d).objective == 120


def test_absence_sends_work_to_the_slower_colleague() -> None:
    """T1 absent 08:00-12:00; T2 works at efficiency 1.5 (60 -> 90 minutes).

    Waiter at 08:00: with T2 ready 09:30 (wait 90, objective 180); with T1 not before 13:00
    (wait 300). Optimum 180, done by T2 in exactly 90 minutes.
    """
    d = day(
        [tech("T1", absent=["08:00-12:00"]), tech("T2", efficiency=Fraction(3, 2))],
        [bay("L1")],
        [booking("B1", "CHECK", "08:00", waiting=True)],
    )
    plan = optimal(d)
    assert plan.objective == 180
    (a,) = plan.assignments
    assert (a.technician, a.end - a.start) == ("T2", 90)


def test_no_absence_uses_the_faster_technician() -> None:
    """Same day without the absence: T1 does it 08:00-09:00, wait 60, objective 120."""
    d = day(
        [tech("T1"), tech("T2", efficiency=Fraction(3, 2))],
        [bay("L1")],
        [booking("B1", "CHECK", "08:00", waiting=True)],
    )
    plan = optimal(d)
    assert plan.objective == 120
    assert plan.assignments[0].technician == "T1"


def test_efficiency_duration_is_exact() -> None:
    """50 minutes at efficiency 1.1 is 55 (a binary float would give 56): waiter at 08:00 is
    ready 08:55, wait 55, objective 110."""
    d = day(
        [tech("T1", efficiency=Fraction(11, 10))],
        [bay("L1")],
        [booking("B1", "FIFTY", "08:00", waiting=True)],
    )
    plan = optimal(d)
    assert plan.objective == 110
    assert plan.assignments[0].end - plan.assignments[0].start == 55


def test_overlapping_break_and_absence_are_merged() -> None:
    """Break 12:00-12:45 inside an absence 12:30-14:00 (they overlap). Waiter at 12:00 for a
    60-minute check: the technician is away 12:00-14:00, so ready 15:00, wait 180, objective
    360. Unmerged fixed intervals would make the model infeasible."""
    d = day(
        [tech("T1", breaks=["12:00-12:45"], absent=["12:30-14:00"])],
        [bay("L1")],
        [booking("B1", "CHECK", "12:00", waiting=True)],
    )
    plan = optimal(d)
    assert plan.objective == 360


def test_bay_unavailable_binds() -> None:
    """The only lift is closed 08:00-09:00: the waiter's check runs 09:00-10:00, objective 240."""
    d = day(
        [tech("T1")],
        [bay("L1", unavailable=["08:00-09:00"])],
        [booking("B1", "CHECK", "08:00", waiting=True)],
    )
    assert optimal(d).objective == 240


def test_open_second_bay_avoids_the_closure() -> None:
    """A second lift is open: the check runs 08:00-09:00 in L2, objective 120."""
    d = day(
        [tech("T1")],
        [bay("L1", unavailable=["08:00-09:00"]), bay("L2")],
        [booking("B1", "CHECK", "08:00", waiting=True)],
    )
    plan = optimal(d)
    assert plan.objective == 120
    assert plan.assignments[0].bay == "L2"


def test_parts_delivery_binds() -> None:
    """No oil on hand, 4 arrive at 10:00; an oil change takes 4 at its start. The waiter from
    08:00 is served 10:00-11:00 (a delivery at 10:00 serves a 10:00 start): wait 180, obj 360."""
    d = day(
        [tech("T1")],
        [bay("L1")],
        [booking("B1", "OIL", "08:00", waiting=True)],
        oil=0,
        deliveries=[("10:00", 4)],
    )
    plan = optimal(d)
    assert plan.objective == 360
    assert plan.assignments[0].start == hm("10:00")


def test_parts_on_hand_do_not_bind() -> None:
    """Four on hand: 08:00-09:00, objective 120."""
    d = day([tech("T1")], [bay("L1")], [booking("B1", "OIL", "08:00", waiting=True)], oil=4)
    assert optimal(d).objective == 120


def test_parts_shared_over_time() -> None:
    """Two waiters at 08:00 for an oil change each; 4 on hand, 4 more at 10:00; two technicians
    and lifts. One is served 08:00-09:00 (wait 60), the other 10:00-11:00 (wait 180):
    objective 2 * 240 = 480."""
    d = day(
        [tech("T1"), tech("T2")],
        [bay("L1"), bay("L2")],
        [booking("B1", "OIL", "08:00", waiting=True), booking("B2", "OIL", "08:00", waiting=True)],
        oil=4,
        deliveries=[("10:00", 4)],
    )
    assert optimal(d).objective == 480


def test_parts_shortage_leaves_out_the_cheaper_booking() -> None:
    """4 on hand, no delivery, two oil changes: one must be left out. First come, first served
    keeps the drop-off B1 (08:00) and leaves out the waiter B2 (penalty 10000 * 2 = 20000).
    CP-SAT swaps: it leaves out B1 (penalty 10000) and serves B2 08:30-09:30 (wait 60 -> 120):
    objective 10120. B1 was scheduled in the start plan, so its reason is the optimiser's."""
    d = day(
        [tech("T1")],
        [bay("L1")],
        [
            booking("B1", "OIL", "08:00", promised="12:00"),
            booking("B2", "OIL", "08:30", waiting=True),
        ],
        oil=4,
    )
    start = dispatch_plan(d, "fcfs")
    assert [u.booking for u in start.unscheduled] == ["B2"]
    plan = optimal(d, start)
    assert plan.objective == 10120
    assert [(u.booking, u.reason) for u in plan.unscheduled] == [("B1", LEFT_OUT)]


def test_precedence_binds() -> None:
    """Waiter at 08:00 for a wash then a check, T1 washes and T2 checks: without catalogue
    order they would run side by side (ready 09:00); in order the wash runs 08:00-08:20 and
    the check 08:20-09:20: wait 80, objective 160."""
    d = day(
        [tech("T1", "valet"), tech("T2", "general")],
        [bay("L1"), bay("W1", "wash")],
        [booking("B1", "WASH CHECK", "08:00", waiting=True)],
    )
    plan = optimal(d)
    assert plan.objective == 160
    wash, check = sorted(plan.assignments)
    assert (wash.service, check.service) == ("WASH", "CHECK")
    assert check.start >= wash.end


def test_arrival_binds() -> None:
    """Waiter arriving 10:00 with everyone idle since 08:00: 10:00-11:00, objective 120; a
    drop-off arriving 10:00 promised 10:30 on the second lift is 30 minutes late: 30. Total 150."""
    d = day(
        [tech("T1"), tech("T2")],
        [bay("L1"), bay("L2")],
        [
            booking("B1", "CHECK", "10:00", waiting=True),
            booking("B2", "CHECK", "10:00", promised="10:30"),
        ],
    )
    plan = optimal(d)
    assert plan.objective == 150
    assert min(a.start for a in plan.assignments) == hm("10:00")


def test_technician_does_one_thing_at_a_time() -> None:
    """Two waiters at 08:00, one technician, two lifts: 60 and 120 minutes of waiting,
    objective 2 * 180 = 360."""
    d = day(
        [tech("T1")],
        [bay("L1"), bay("L2")],
        [
            booking("B1", "CHECK", "08:00", waiting=True),
            booking("B2", "CHECK", "08:00", waiting=True),
        ],
    )
    assert optimal(d).objective == 360


def test_bay_holds_one_car_at_a_time() -> None:
    """Two waiters at 08:00, two technicians, one lift: again 360."""
    d = day(
        [tech("T1"), tech("T2")],
        [bay("L1")],
        [
            booking("B1", "CHECK", "08:00", waiting=True),
            booking("B2", "CHECK", "08:00", waiting=True),
        ],
    )
    assert optimal(d).objective == 360


def test_shift_end_leaves_a_booking_out() -> None:
    """The only technician works 08:00-09:00 and the check takes 61 minutes: it cannot be
    done, so the waiter is left out: objective 10000 * 2 = 20000, with the dispatcher's reason."""
    d = day(
        [tech("T1", shift="08:00-09:00")],
        [bay("L1")],
        [booking("B1", "LONG", "08:00", waiting=True)],
    )
    plan = optimal(d)
    assert plan.objective == 20000
    assert plan.unscheduled[0].reason == best_dispatch_plan(d).unscheduled[0].reason


def test_priorities_stay_exact() -> None:
    """Drop-offs at 08:00 promised 09:00: B1 (priority 1.5) needs 61 minutes, B2 60. One
    technician. B1 first: B1 one minute late (1.5), B2 ready 10:01, 61 late (61): 62.5.
    B2 first: B2 on time, B1 ready 10:01, 61 late at 1.5: 91.5. Optimum 62.5, a half."""
    d = day(
        [tech("T1")],
        [bay("L1")],
        [
            booking("B1", "LONG", "08:00", promised="09:00", priority=Fraction(3, 2)),
            booking("B2", "CHECK", "08:00", promised="09:00"),
        ],
    )
    assert optimal(d).objective == Fraction(125, 2)


def test_requested_technician_is_honoured_when_free() -> None:
    """Two identical technicians; the waiter asks for T2, who costs no extra waiting."""
    d = day(
        [tech("T1"), tech("T2")],
        [bay("L1")],
        [booking("B1", "CHECK", "08:00", waiting=True, technician="T2")],
    )
    plan = optimal(d)
    assert plan.objective == 120
    assert plan.assignments[0].technician == "T2"


def test_requested_technician_breaks_a_tie_with_the_start_plan() -> None:
    """The start plan gives the waiter to T1 at 08:00, as good as T2 at 08:00 in waiting
    (120): the plan that honours the request wins the tie and is returned."""
    d = day(
        [tech("T1"), tech("T2")],
        [bay("L1")],
        [booking("B1", "CHECK", "08:00", waiting=True, technician="T2")],
    )
    given = [Assignment(hm("08:00"), hm("09:00"), "B1", "CHECK", 0, "L1", "T1")]
    start = Plan.build(d, given, [], status=PlanStatus.HEURISTIC)
    assert check_plan(d, start) == []
    plan = optimal(d, start)
    assert plan.objective == 120
    assert plan.assignments[0].technician == "T2"


def test_requested_technician_never_costs_waiting() -> None:
    """T2 is absent until 12:00: the waiter goes to T1 at 08:00 (objective 120), not T2."""
    d = day(
        [tech("T1"), tech("T2", absent=["08:00-12:00"])],
        [bay("L1")],
        [booking("B1", "CHECK", "08:00", waiting=True, technician="T2")],
    )
    plan = optimal(d)
    assert plan.objective == 120
    assert plan.assignments[0].technician == "T1"


def test_makespan_objective() -> None:
    """A two-job, two-machine job shop, machines as technicians with their own bays: job A
    needs 30 min general (M1) then 20 min valet (M2); job B 20 min valet then 30 min general.
    M1 carries 60 minutes, so the last operation ends no earlier than 09:00, and A:GEN 08:00,
    B:VAL 08:00, B:GEN 08:30, A:VAL 08:30 reach it: makespan 09:00."""
    d = day(
        [tech("M1", "general"), tech("M2", "valet")],
        [bay("L1"), bay("W1", "wash")],
        [booking("A", "GEN VAL", "08:00"), booking("B", "VAL GEN", "08:00")],
    )
    plan = improve(d, dispatch_plan(d, "fcfs"), time_limit=20, objective="makespan")
    assert check_plan(d, plan) == []
    assert plan.status == PlanStatus.OPTIMAL
    assert plan.kpis["makespan"] == hm("09:00")
    assert plan.kpis["makespan_lower_bound"] == hm("09:00")


def _two_cars() -> tuple[Day, Plan]:
    """One technician, one lift; B1 drop-off at 08:00 promised 09:00, B2 waiter at 08:00, a
    60-minute check each. The previous plan did B1 first: B2 waits 120 (objective 240). Doing
    B2 first is better without any other concern: B2 waits 60 (120), B1 is 60 late (60): 180,
    but both promises move (B1 09:00 -> 10:00, B2 10:00 -> 09:00)."""
    d = day(
        [tech("T1")],
        [bay("L1")],
        [
            booking("B1", "CHECK", "08:00", promised="09:00"),
            booking("B2", "CHECK", "08:00", waiting=True),
        ],
    )
    previous = Plan.build(
        d,
        [
            Assignment(hm("08:00"), hm("09:00"), "B1", "CHECK", 0, "L1", "T1"),
            Assignment(hm("09:00"), hm("10:00"), "B2", "CHECK", 0, "L1", "T1"),
        ],
        [],
        status=PlanStatus.HEURISTIC,
    )
    assert previous.objective == 240
    return d, previous


def test_stability_keeps_promises_when_moving_them_costs_more() -> None:
    """At 50 per moved promise, two moves (100) cost more than the 60 saved: keep the plan."""
    d, previous = _two_cars()
    plan = improve(d, previous, time_limit=20, previous=previous, stability_weight=50)
    assert check_plan(d, plan) == []
    assert plan.assignments == previous.assignments
    assert plan.status == PlanStatus.OPTIMAL


def test_stability_moves_promises_when_it_pays() -> None:
    """At 20 per moved promise, two moves (40) cost less than the 60 saved: swap. The plan's
    objective is DESIGN.md's (180), without the penalty."""
    d, previous = _two_cars()
    plan = improve(d, previous, time_limit=20, previous=previous, stability_weight=20)
    assert check_plan(d, plan) == []
    assert plan.objective == 180
    assert ready(plan, "B2") == hm("09:00")


def test_frozen_work_stays_even_when_moving_it_would_pay() -> None:
    """B1 has started at 08:00: frozen, it stays, so B2 waits 120 and the optimum is 240."""
    d, previous = _two_cars()
    started = [a for a in previous.assignments if a.booking == "B1"]
    plan = improve(d, previous, time_limit=20, frozen=started)
    assert check_plan(d, plan) == []
    assert set(started) <= set(plan.assignments)
    assert plan.objective == 240
    assert plan.status == PlanStatus.OPTIMAL
