"""A day as stored: the day file's workshop sections as JSON, and one row per booking.

The stored sections are written in the day-file format itself and read back through
``scheduler.io.parse_day``, so a stored workshop is validated by the same reader as a file and a
rebuilt ``Day`` equals the one that was loaded. Times stay ``"HH:MM"`` text and numbers stay
exact decimal text (an efficiency of 1.1 is never a binary float on the way).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any

from scheduler.clock import format_hhmm
from scheduler.domain import Booking, Day, Window, Workshop
from scheduler.io import parse_day


def decimal_text(value: Fraction) -> str:
    """An exact decimal fraction as text (``Fraction(11, 10)`` -> ``"1.1"``)."""
    numerator, denominator = value.numerator, value.denominator
    places = 0
    while (10**places) % denominator and places < 12:
        places += 1
    if (numerator * 10**places) % denominator:
        raise ValueError(f"{value} has no exact decimal form")
    text = format(Decimal(numerator * 10**places // denominator).scaleb(-places), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _windows(windows: Iterable[Window]) -> list[list[str]]:
    return [[format_hhmm(s), format_hhmm(e)] for s, e in windows]


def workshop_config(ws: Workshop) -> dict[str, Any]:
    """The workshop sections of a day file describing ``ws``."""
    return {
        "workshop": {
            "id": ws.id,
            "name": ws.name,
            "timezone": ws.timezone,
            "open": format_hhmm(ws.open),
            "close": format_hhmm(ws.close),
            "waiter_weight": decimal_text(ws.waiter_weight),
        },
        "bays": [
            {"id": b.id, "kinds": sorted(b.kinds), "unavailable": _windows(b.unavailable)}
            for b in ws.bays
        ],
        "technicians": [
            {
                "id": t.id,
                "name": t.name,
                "skills": sorted(t.skills),
                "shift": [format_hhmm(t.shift[0]), format_hhmm(t.shift[1])],
                "breaks": _windows(t.breaks),
                "efficiency": decimal_text(t.efficiency),
                "absent": _windows(t.absent),
            }
            for t in ws.technicians
        ],
        "services": [
            {
                "code": s.code,
                "name": s.name,
                "operations": [
                    {
                        "skill": op.skill,
                        "bay": op.bay,
                        "minutes": op.minutes,
                        "parts": dict(op.parts),
                    }
                    for op in s.operations
                ],
            }
            for s in ws.services.values()
        ],
        "parts": [
            {
                "sku": p.sku,
                "on_hand": p.on_hand,
                "deliveries": [[format_hhmm(at), qty] for at, qty in p.deliveries],
            }
            for p in ws.parts.values()
        ],
    }


def booking_dict(b: Booking) -> dict[str, Any]:
    """A booking as a day-file entry."""
    out: dict[str, Any] = {
        "id": b.id,
        "services": list(b.services),
        "arrival": format_hhmm(b.arrival),
        "waiting": b.waiting,
        "priority": decimal_text(b.priority),
        "customer": b.customer,
        "vehicle": b.vehicle,
    }
    if b.promised is not None:
        out["promised"] = format_hhmm(b.promised)
    if b.technician is not None:
        out["technician"] = b.technician
    return out


def day_to_dict(day: Day) -> dict[str, Any]:
    """The whole day file for ``day``: reading it back gives an equal ``Day``."""
    return {
        **workshop_config(day.workshop),
        "day": day.date.isoformat(),
        "bookings": [booking_dict(b) for b in day.bookings],
    }


def day_from_dict(data: dict[str, Any], *, source: str = "<stored day>") -> Day:
    """Read a day-file dict (as made by ``day_to_dict``) back into a ``Day``."""
    return parse_day(data, source=source)


class WorkshopCache:
    """Parsed workshops by their stored sections, so a busy day is not re-read per request.

    The key is the JSON text of the sections, so any change to them gives a new entry.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[str, Workshop] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, config: dict[str, Any], key: str) -> Workshop:
        """The workshop described by ``config`` (``key`` identifies the config exactly)."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        data = {**config, "day": "2000-01-01", "bookings": []}
        workshop = parse_day(data, source="<stored workshop>").workshop
        with self._lock:
            self._items[key] = workshop
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return workshop

    def clear(self) -> None:
        """Forget every parsed workshop."""
        with self._lock:
            self._items.clear()


def make_booking(
    *,
    booking_id: str,
    services: Iterable[str],
    arrival: int,
    waiting: bool,
    promised: int | None,
    priority: str,
    technician: str | None,
    customer: str,
    vehicle: str,
) -> Booking:
    """A domain booking from stored columns."""
    return Booking(
        id=booking_id,
        services=tuple(services),
        arrival=arrival,
        waiting=waiting,
        promised=promised,
        priority=Fraction(Decimal(priority)),
        technician=technician,
        customer=customer,
        vehicle=vehicle,
    )


def make_day(workshop: Workshop, date: dt.date, bookings: Iterable[Booking]) -> Day:
    """A ``Day`` from a workshop and bookings (validated by ``Day`` itself)."""
    return Day(workshop, date, tuple(bookings))
