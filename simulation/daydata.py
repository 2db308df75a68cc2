"""A day as plain data, so it can travel to another process or a Dask worker.

Domain objects keep their mappings behind read-only ``MappingProxyType`` views, which Python
cannot pickle. Replications run in a process pool or on a cluster, so what-if experiments send
each day as nested tuples of plain values (:func:`day_to_data`) and rebuild it on arrival
(:func:`day_from_data`), through the same validating constructors as any other day.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

from scheduler.domain import Bay, Booking, Day, Operation, Part, Service, Technician, Workshop

DayData = tuple[Any, ...]
"""A day as nested tuples of str, int, bool, Fraction and None."""


def day_to_data(day: Day) -> DayData:
    """``day`` as nested tuples of plain values (picklable, hashable)."""
    ws = day.workshop
    header = (ws.id, ws.name, ws.timezone, ws.open, ws.close, ws.waiter_weight)
    bays = tuple((b.id, tuple(sorted(b.kinds)), b.unavailable) for b in ws.bays)
    techs = tuple(
        (t.id, t.name, tuple(sorted(t.skills)), t.shift, t.breaks, t.efficiency, t.absent)
        for t in ws.technicians
    )
    services = tuple(
        (
            s.code,
            s.name,
            tuple(
                (op.skill, op.bay, op.minutes, tuple(sorted(op.parts.items())))
                for op in s.operations
            ),
        )
        for s in ws.services.values()
    )
    parts = tuple((p.sku, p.on_hand, p.deliveries) for p in ws.parts.values())
    bookings = tuple(
        (
            b.id,
            b.services,
            b.arrival,
            b.waiting,
            b.promised,
            b.priority,
            b.technician,
            b.customer,
            b.vehicle,
        )
        for b in day.bookings
    )
    return (header, bays, techs, services, parts, day.date.isoformat(), bookings)


def day_from_data(data: DayData) -> Day:
    """Rebuild the day :func:`day_to_data` wrote."""
    header, bays, techs, services, parts, date, bookings = data
    ident, name, timezone, open_, close, waiter_weight = header
    workshop = Workshop(
        id=ident,
        name=name,
        timezone=timezone,
        open=open_,
        close=close,
        bays=tuple(Bay(i, frozenset(k), tuple(u)) for i, k, u in bays),
        technicians=tuple(
            Technician(i, n, frozenset(s), sh, tuple(br), Fraction(e), tuple(ab))
            for i, n, s, sh, br, e, ab in techs
        ),
        services={
            code: Service(
                code,
                label,
                tuple(Operation(sk, kind, minutes, dict(used)) for sk, kind, minutes, used in ops),
            )
            for code, label, ops in services
        },
        parts={sku: Part(sku, on_hand, tuple(deliveries)) for sku, on_hand, deliveries in parts},
        waiter_weight=Fraction(waiter_weight),
    )
    return Day(
        workshop,
        dt.date.fromisoformat(date),
        tuple(
            Booking(i, tuple(s), a, w, p, Fraction(pr), t, c, v)
            for i, s, a, w, p, pr, t, c, v in bookings
        ),
    )
