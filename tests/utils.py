"""Helpers shared by the tests: a hand-made tiny day and a way to build plans by hand."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

from scheduler.clock import parse_hhmm
from scheduler.domain import Bay, Booking, Day, Operation, Part, Service, Technician, Workshop
from scheduler.plan import Assignment, Plan, PlanStatus, Unscheduled

DATA = Path(__file__).parent / "data"
SCENARIOS = Path(__file__).parent.parent / "scenarios"


def hm(text: str) -> int:
    """Minutes since midnight of "HH:MM"."""
    return parse_hhmm(text)


def tiny_day() -> Day:
    """Two technicians, a lift and a wash, oil that runs out until a 10:00 delivery.

    - T1: general + valet, 08:00-17:00, break 12:00-12:30, standard speed.
    - T2: general only, 08:00-17:00, absent 14:00-15:00, efficiency 1.1 (50 min -> 55 min).
    - L1 lift; W1 wash, unavailable 12:00-13:00.
    - OIL: 4 on hand, 4 more at 10:00; an oil change (50 min on a lift) takes 4.
    - B1 waiter at 08:00 for OIL then WASH (weight 2); B2 drop-off at 08:00 for OIL promised
      09:00 with priority 1.5; B3 drop-off at 09:00 for WASH promised 12:00.
    """
    workshop = Workshop(
        id="tiny",
        name="Tiny Motors",
        timezone="Asia/Shanghai",
        open=hm("08:00"),
        close=hm("18:00"),
        bays=(Bay("L1", frozenset({"lift"})), Bay("W1", frozenset({"wash"}), ((720, 780),))),
        technicians=(
            Technician("T1", "Li Wei", frozenset({"general", "valet"}), (480, 1020), ((720, 750),)),
            Technician(
                "T2", "Wang Fang", frozenset({"general"}), (480, 1020), (), Fraction(11, 10),
                ((840, 900),),
            ),
        ),
        services={
            "OIL": Service("OIL", "Oil change", (Operation("general", "lift", 50, {"OIL": 4}),)),
            "WASH": Service("WASH", "Wash", (Operation("valet", "wash", 20),)),
        },
        parts={"OIL": Part("OIL", 4, ((600, 4),))},
    )
    bookings = (
        Booking("B1", ("OIL", "WASH"), hm("08:00"), waiting=True),
        Booking("B2", ("OIL",), hm("08:00"), promised=hm("09:00"), priority=Fraction(3, 2)),
        Booking("B3", ("WASH",), hm("09:00"), promised=hm("12:00")),
    )
    return Day(workshop, dt.date(2026, 11, 26), bookings)


def op(booking: str, service: str, tech: str, bay: str, start: str, end: str) -> Assignment:
    """An assignment of operation 0 of ``service`` written with clock times."""
    return Assignment(hm(start), hm(end), booking, service, 0, bay, tech)


def tiny_valid_assignments() -> list[Assignment]:
    """A valid plan for ``tiny_day``.

    B1 waits 08:00-09:10 = 70 min at weight 2 -> 140; B3 is ready 09:30, before 12:00 -> 0;
    B2 waits for the 10:00 oil delivery, ready 10:55 (55 min at 1.1), promised 09:00:
    115 min late at weight 1.5 -> 172.5. Objective 312.5.
    """
    return [
        op("B1", "OIL", "T1", "L1", "08:00", "08:50"),
        op("B1", "WASH", "T1", "W1", "08:50", "09:10"),
        op("B3", "WASH", "T1", "W1", "09:10", "09:30"),
        op("B2", "OIL", "T2", "L1", "10:00", "10:55"),
    ]


def build(
    day: Day, assignments: list[Assignment], unscheduled: list[Unscheduled] | None = None
) -> Plan:
    """A plan whose claimed objective is consistent with its schedule."""
    return Plan.build(day, assignments, unscheduled or [], status=PlanStatus.HEURISTIC)
