"""Hand-made tiny days for the CP-SAT tests: one lift, one or two technicians, a few cars.

Everything is written in clock times so the optimum of each day can be worked out by hand in
the test that uses it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from fractions import Fraction

from scheduler.domain import Bay, Booking, Day, Operation, Part, Service, Technician, Workshop
from tests.utils import hm


def tech(
    tid: str,
    skills: str = "general",
    shift: str = "08:00-17:00",
    *,
    breaks: Sequence[str] = (),
    absent: Sequence[str] = (),
    efficiency: Fraction | int = 1,
) -> Technician:
    """A technician; windows as "HH:MM-HH:MM", skills space-separated."""
    return Technician(
        tid,
        tid,
        frozenset(skills.split()),
        _window(shift),
        tuple(_window(w) for w in breaks),
        Fraction(efficiency),
        tuple(_window(w) for w in absent),
    )


def bay(bid: str, kinds: str = "lift", *, unavailable: Sequence[str] = ()) -> Bay:
    """A bay; kinds space-separated."""
    return Bay(bid, frozenset(kinds.split()), tuple(_window(w) for w in unavailable))


def booking(
    bid: str,
    services: str,
    arrival: str,
    *,
    waiting: bool = False,
    promised: str | None = None,
    priority: Fraction | int = 1,
    technician: str | None = None,
) -> Booking:
    """A booking; services space-separated."""
    return Booking(
        bid,
        tuple(services.split()),
        hm(arrival),
        waiting=waiting,
        promised=None if promised is None else hm(promised),
        priority=Fraction(priority),
        technician=technician,
    )


SERVICES = {
    "OIL": Service("OIL", "Oil change", (Operation("general", "lift", 60, {"OIL": 4}),)),
    "CHECK": Service("CHECK", "Check", (Operation("general", "lift", 60),)),
    "LONG": Service("LONG", "Long check", (Operation("general", "lift", 61),)),
    "FIFTY": Service("FIFTY", "Fifty-minute job", (Operation("general", "lift", 50),)),
    "WASH": Service("WASH", "Wash", (Operation("valet", "wash", 20),)),
    "GEN": Service("GEN", "General half hour", (Operation("general", "lift", 30),)),
    "VAL": Service("VAL", "Valet twenty minutes", (Operation("valet", "wash", 20),)),
}


def day(
    technicians: Sequence[Technician],
    bays: Sequence[Bay],
    bookings: Sequence[Booking],
    *,
    oil: int = 100,
    deliveries: Sequence[tuple[str, int]] = (),
    catalogue: Mapping[str, Service] = SERVICES,
) -> Day:
    """A day at Tiny Motors (open 08:00-18:00) with an OIL stock and those of the services
    above that its technicians and bays can do."""
    skills = {s for t in technicians for s in t.skills}
    kinds = {k for b in bays for k in b.kinds}
    services = {
        code: service
        for code, service in catalogue.items()
        if all(op.skill in skills and op.bay in kinds for op in service.operations)
    }
    workshop = Workshop(
        id="tiny",
        name="Tiny Motors",
        timezone="Asia/Shanghai",
        open=hm("08:00"),
        close=hm("18:00"),
        bays=tuple(bays),
        technicians=tuple(technicians),
        services=services,
        parts={"OIL": Part("OIL", oil, tuple((hm(at), qty) for at, qty in deliveries))},
    )
    return Day(workshop, dt.date(2026, 11, 26), tuple(bookings))


def _window(text: str) -> tuple[int, int]:
    start, end = text.split("-")
    return hm(start), hm(end)
