"""Each queue policy does what its name says, on tiny hand-made days with no randomness."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from fractions import Fraction

import pytest

from scheduler.domain import Bay, Booking, Day, Operation, Service, Technician, Workshop
from scheduler.plan import Assignment
from simulation.model import PolicyError, SimulatedDay, WorkshopSim, simulate_day
from simulation.policies import (
    POLICY_NAMES,
    ExpressLane,
    FirstComeFirstServed,
    FollowPlan,
    QueuePolicy,
    ShortestProcessingTime,
    WaitersFirst,
    make_policy,
)
from simulation.replan import Replanner
from simulation.uncertainty import Uncertainty
from tests.utils import hm

NONE = Uncertainty.none()


def lift_day(bookings: Sequence[Booking], technicians: int = 1, bays: int = 1) -> Day:
    """Technicians T1.. (general, 08:30-17:00) and lifts L1..; LONG is 120 min, SHORT 30.

    Nobody can start before 08:30, so every car that arrives by then is in the queue together
    when the first choice is made.
    """
    workshop = Workshop(
        id="policy-test",
        name="Policy Test Motors",
        timezone="UTC",
        open=hm("07:30"),
        close=hm("18:00"),
        bays=tuple(Bay(f"L{i}", frozenset({"lift"})) for i in range(1, bays + 1)),
        technicians=tuple(
            Technician(f"T{i}", f"Tech {i}", frozenset({"general"}), (hm("08:30"), hm("17:00")))
            for i in range(1, technicians + 1)
        ),
        services={
            "LONG": Service("LONG", "Long job", (Operation("general", "lift", 120),)),
            "SHORT": Service("SHORT", "Short job", (Operation("general", "lift", 30),)),
        },
    )
    return Day(workshop, dt.date(2026, 11, 26), tuple(bookings))


def starts(result: SimulatedDay) -> dict[str, tuple[str, str, str]]:
    """Booking -> (technician, bay, start "HH:MM") of its first operation."""
    out = {}
    for r in result.operations:
        out.setdefault(r.booking, (r.technician, r.bay, f"{r.start // 60:02d}:{r.start % 60:02d}"))
    return out


DROP_OFF_LONG = Booking("D", ("LONG",), hm("08:00"))
WAITER_SHORT = Booking("W", ("SHORT",), hm("08:10"), waiting=True)


def test_every_policy_satisfies_the_protocol() -> None:
    plan = [Assignment(hm("08:30"), hm("10:30"), "D", "LONG", 0, "L1", "T1")]
    policies: list[QueuePolicy] = [
        FirstComeFirstServed(),
        ShortestProcessingTime(),
        WaitersFirst(),
        ExpressLane(45, ["T1"], ["L1"]),
        FollowPlan(plan),
    ]
    assert [p.name for p in policies] == list(POLICY_NAMES)
    assert all(isinstance(p, QueuePolicy) for p in policies)


def test_fcfs_serves_the_earlier_drop_off_before_the_waiter() -> None:
    result = simulate_day(lift_day([DROP_OFF_LONG, WAITER_SHORT]), make_policy("fcfs"), NONE)
    assert starts(result) == {"D": ("T1", "L1", "08:30"), "W": ("T1", "L1", "10:30")}


def test_waiters_first_serves_the_waiter_before_an_earlier_drop_off() -> None:
    result = simulate_day(
        lift_day([DROP_OFF_LONG, WAITER_SHORT]), make_policy("waiters-first"), NONE
    )
    assert starts(result) == {"W": ("T1", "L1", "08:30"), "D": ("T1", "L1", "09:00")}


def test_waiters_first_is_priority_by_weight() -> None:
    """A drop-off of priority 3 outweighs a waiter of priority 1 (weight 2)."""
    vip = Booking("V", ("LONG",), hm("08:20"), priority=Fraction(3))
    result = simulate_day(lift_day([WAITER_SHORT, vip]), make_policy("waiters-first"), NONE)
    assert starts(result)["V"][2] == "08:30"
    assert starts(result)["W"][2] == "10:30"


def test_shortest_processing_time_takes_the_short_job_first() -> None:
    short_drop_off = Booking("S", ("SHORT",), hm("08:20"))
    day = lift_day([DROP_OFF_LONG, short_drop_off])
    assert starts(simulate_day(day, make_policy("spt"), NONE))["S"][2] == "08:30"
    assert starts(simulate_day(day, make_policy("fcfs"), NONE))["S"][2] == "10:30"


def test_an_express_lane_keeps_its_technician_and_bay_for_short_jobs() -> None:
    """T2 in L2 is the lane: the second long job waits for T1 though the lane is idle, and
    the short job that comes later goes straight into the lane."""
    long_two = Booking("D2", ("LONG",), hm("08:05"))
    short = Booking("S", ("SHORT",), hm("09:00"))
    day = lift_day([DROP_OFF_LONG, long_two, short], technicians=2, bays=2)
    lane = make_policy("express-lane", max_minutes=45, technicians=["T2"], bays=["L2"])
    assert starts(simulate_day(day, lane, NONE)) == {
        "D": ("T1", "L1", "08:30"),
        "S": ("T2", "L2", "09:00"),
        "D2": ("T1", "L1", "10:30"),
    }
    # Without the lane the second long job takes T2 at once and the short one waits.
    assert starts(simulate_day(day, make_policy("fcfs"), NONE))["S"][2] == "10:30"


def test_express_cars_overflow_to_the_other_technicians() -> None:
    """Two short jobs and one lane: the second short job uses the regular technician."""
    day = lift_day(
        [Booking("S1", ("SHORT",), hm("08:00")), Booking("S2", ("SHORT",), hm("08:01"))],
        technicians=2,
        bays=2,
    )
    lane = make_policy("express-lane", technicians=["T2"], bays=["L2"])
    assert starts(simulate_day(day, lane, NONE)) == {
        "S1": ("T2", "L2", "08:30"),
        "S2": ("T1", "L1", "08:30"),
    }


def test_an_express_lane_on_unknown_resources_is_refused() -> None:
    lane = make_policy("express-lane", technicians=["T9"], bays=["L1"])
    with pytest.raises(ValueError, match="technician 'T9' is not in the workshop"):
        simulate_day(lift_day([WAITER_SHORT]), lane, NONE)


def test_following_the_plan_keeps_its_order_and_times() -> None:
    """The plan puts the drop-off first, at 09:00 (not at 08:30 when the technician is free),
    and the waiter after it: the floor does exactly that, whatever FCFS would do."""
    day = lift_day([WAITER_SHORT, DROP_OFF_LONG])
    plan = [
        Assignment(hm("09:00"), hm("11:00"), "D", "LONG", 0, "L1", "T1"),
        Assignment(hm("11:00"), hm("11:30"), "W", "SHORT", 0, "L1", "T1"),
    ]
    result = simulate_day(day, FollowPlan(plan), NONE)
    assert [r.assignment() for r in result.operations] == plan


def test_the_plan_follower_re_plans_for_a_walk_in() -> None:
    """Walk-ins are not in the plan: the follower re-plans and serves them after the planned
    job; without re-planning they still get the technician once the plan leaves him idle."""
    day = lift_day([DROP_OFF_LONG])
    plan = [Assignment(hm("08:30"), hm("10:30"), "D", "LONG", 0, "L1", "T1")]
    walk_ins = NONE.with_changes(walk_in_rates=((hm("09:00"), 2.0), (hm("10:00"), 0.0)))
    for policy in (FollowPlan(plan, replanner=Replanner()), FollowPlan(plan)):
        result = simulate_day(day, policy, walk_ins, seed=1)
        assert (result.replans >= 1) == (policy.replanner is not None)
        assert len(result.day.bookings) == 3  # D and two walk-ins with this seed
        assert result.operations[0].assignment() == plan[0]
        assert [r.booking for r in result.operations[1:]] == ["WALKIN-001", "WALKIN-002"]
        assert result.operations[1].start == hm("10:30")


def test_the_plan_follower_does_not_re_plan_when_nothing_drifts() -> None:
    day = lift_day([DROP_OFF_LONG, WAITER_SHORT])
    plan = [
        Assignment(hm("08:30"), hm("10:30"), "D", "LONG", 0, "L1", "T1"),
        Assignment(hm("10:30"), hm("11:00"), "W", "SHORT", 0, "L1", "T1"),
    ]
    result = simulate_day(day, FollowPlan(plan, replanner=Replanner(), threshold=0), NONE)
    assert result.replans == 0


def test_a_technician_ahead_of_the_plan_starts_the_next_job_early() -> None:
    """With random durations, a job that ends early lets the next planned one start earlier
    (never before the car is there), instead of leaving the technician idle."""
    day = lift_day([DROP_OFF_LONG, Booking("D2", ("LONG",), hm("08:00"))])
    plan = [
        Assignment(hm("08:30"), hm("10:30"), "D", "LONG", 0, "L1", "T1"),
        Assignment(hm("10:30"), hm("12:30"), "D2", "LONG", 0, "L1", "T1"),
    ]
    u = NONE.with_changes(duration_spread=0.5)
    early = 0
    for rep in range(10):
        result = simulate_day(day, FollowPlan(plan), u, seed=3, replication=rep)
        first, second = result.operations
        assert second.start == first.end  # early or late, the next job follows at once
        early += first.end < hm("10:30")
    assert early > 0


class StartsAnything:
    """A broken policy: sends the first waiting car to every technician at once."""

    name = "broken"

    def start_day(self, floor: WorkshopSim) -> None:
        """Nothing to prepare."""

    def dispatch(self, floor: WorkshopSim) -> None:
        """Start the same job twice."""
        for job in floor.waiting():
            floor.start(job, "T1", "L1")
            floor.start(job, "T1", "L1")


def test_the_floor_refuses_a_policy_that_breaks_the_rules() -> None:
    with pytest.raises(PolicyError, match="policy 'broken' tried to start"):
        simulate_day(lift_day([DROP_OFF_LONG]), StartsAnything(), NONE)


def test_make_policy_rejects_unknown_names_and_options() -> None:
    with pytest.raises(ValueError, match="unknown queue policy 'lifo'"):
        make_policy("lifo")
    with pytest.raises(ValueError, match="takes no options"):
        make_policy("fcfs", threshold=3)
    with pytest.raises(ValueError, match="needs a plan"):
        make_policy("follow-plan")
    with pytest.raises(ValueError, match="at least one technician and one bay"):
        make_policy("express-lane", technicians=[], bays=["L1"])
