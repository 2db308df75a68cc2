"""What the manager's day board shows, built from the same service functions as the JSON API.

The board is a view of the day's current plan: the plan-file JSON that
``GET /workshops/{id}/plans/{date}`` serves (``plans.current_plan``) and the day it belongs to
(``booking.schedule_snapshot``: the bookings, bays and technicians in force that day, events
included). Nothing here plans, stores or recomputes a key figure: KPIs, status and bound come from
the plan itself, so the board and the JSON API can never disagree. What is added is only what a
person needs to read the plan: names instead of ids, ``HH:MM`` times, breaks and unavailable
windows to shade, promises at risk, and which promises moved between two stored plan versions.

Each page-facing value is a small frozen dataclass (a view model), so templates only format
and never compute. ``build_board`` is a pure function of (day, plan JSON); the command line uses
it to write the same chart to a self-contained page without any database.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from api.services import booking, daily, plans, workshops
from api.services.audit import Actor
from api.services.context import Context, now_utc
from api.services.errors import NotFound
from scheduler.clock import (
    format_hhmm,
    from_datetime,
    from_iso,
    parse_hhmm,
    to_datetime,
    to_iso,
    zone,
)
from scheduler.domain import Day

RowKind = Literal["bay", "technician"]
Tone = Literal["good", "warn", "bad", "neutral"]
TIGHT_MINUTES = 15  # a promise with less slack than this is "at risk" even when still on time
EVENT_KINDS = ("overrun", "absent", "part-late", "walk-in")


@dataclass(frozen=True, slots=True)
class Bar:
    """One operation of the plan as drawn: a bar on its bay's row and its technician's row."""

    booking: str
    customer: str
    vehicle: str
    service: str
    service_name: str
    operation: int  # index within the service, as in the plan file
    operation_label: str  # what the step needs, e.g. "general skill, lift bay, 60 min standard"
    bay: str
    technician: str
    technician_name: str
    start: int  # minutes since local midnight
    end: int
    arrival: int
    promised: int  # the booking's promised ready time (closing time for a drop-off with none)
    ready: int  # when the booking's car is ready in this plan
    waiting: bool
    parts: tuple[tuple[str, int], ...]
    moved: bool = False  # the booking's ready time moved in the change being shown

    @property
    def start_text(self) -> str:
        """Start as ``HH:MM``."""
        return format_hhmm(self.start)

    @property
    def end_text(self) -> str:
        """End as ``HH:MM``."""
        return format_hhmm(self.end)

    @property
    def promised_text(self) -> str:
        """Promised ready time as ``HH:MM``."""
        return format_hhmm(self.promised)

    @property
    def ready_text(self) -> str:
        """Ready time as ``HH:MM``."""
        return format_hhmm(self.ready)

    @property
    def late_minutes(self) -> int:
        """Minutes the car is ready after its promise (0 when on time)."""
        return max(0, self.ready - self.promised)


@dataclass(frozen=True, slots=True)
class Shade:
    """A window on a row when no work can be done there: break, absence, unavailable, off shift."""

    start: int
    end: int
    kind: Literal["break", "absent", "unavailable", "off-shift"]

    @property
    def label(self) -> str:
        """What the window is, for people: ``"break 12:00-12:45"``."""
        return f"{self.kind.replace('-', ' ')} {format_hhmm(self.start)}-{format_hhmm(self.end)}"


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the chart: a bay or a technician, with its shaded windows and utilization."""

    id: str
    label: str
    kind: RowKind
    shades: tuple[Shade, ...]
    utilization: float | None  # share of usable minutes busy, from the plan's KPIs
    detail: str = ""  # bay kinds or technician shift and skills


@dataclass(frozen=True, slots=True)
class KpiCard:
    """One key figure as a card: label, formatted value, a line of detail and a tone."""

    key: str
    label: str
    value: str
    detail: str
    tone: Tone = "neutral"
    help: str = ""


@dataclass(frozen=True, slots=True)
class UnscheduledView:
    """A booking the plan could not place, with the reason a manager can act on."""

    booking: str
    customer: str
    vehicle: str
    services: str
    arrival: str
    waiting: bool
    reason: str


@dataclass(frozen=True, slots=True)
class AtRisk:
    """A scheduled booking whose ready time is after, or close to, its promise."""

    booking: str
    customer: str
    vehicle: str
    waiting: bool
    promised: str
    ready: str
    minutes_late: int  # negative: minutes of slack left

    @property
    def late(self) -> bool:
        """True when the promise is broken, False when only tight."""
        return self.minutes_late > 0


@dataclass(frozen=True, slots=True)
class PromiseChange:
    """A booking whose ready time changed between two plan versions."""

    booking: str
    customer: str
    before: str | None  # HH:MM, None when the booking was not placed before
    after: str | None  # HH:MM, None when it is no longer placed
    minutes: int | None  # later by this much (negative: earlier)

    @property
    def kind(self) -> str:
        """``moved``, ``placed`` (was not placed before) or ``dropped`` (no longer placed)."""
        if self.before is None:
            return "placed"
        if self.after is None:
            return "dropped"
        return "moved"


@dataclass(frozen=True, slots=True)
class Changes:
    """What a re-plan changed: promises moved from version ``version - 1`` to ``version``."""

    version: int
    cause: str  # "re-plan" or an event kind
    promises: tuple[PromiseChange, ...]

    @property
    def moved_bookings(self) -> frozenset[str]:
        """Ids of bookings whose ready time changed."""
        return frozenset(p.booking for p in self.promises)


@dataclass(frozen=True, slots=True)
class Choice:
    """An option of a form's select: value and label."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class EventOptions:
    """What the event forms offer: bookings in the workshop, technicians, parts and services."""

    bookings: tuple[Choice, ...]
    technicians: tuple[Choice, ...]
    parts: tuple[Choice, ...]
    services: tuple[Choice, ...]
    default_at: str  # HH:MM prefilled in the "when" field


@dataclass(frozen=True, slots=True)
class DayBoard:
    """Everything the day board page shows for one workshop and day."""

    workshop_id: str
    workshop_name: str
    timezone: str
    date: dt.date
    version: int
    status: str
    objective: float
    lower_bound: float
    gap: float
    cards: tuple[KpiCard, ...]
    bars: tuple[Bar, ...]
    bays: tuple[Row, ...]
    technicians: tuple[Row, ...]
    services: tuple[Choice, ...]  # service codes and names, in catalogue order
    unscheduled: tuple[UnscheduledView, ...]
    at_risk: tuple[AtRisk, ...]
    window: tuple[int, int]  # the chart's time range, minutes
    now: int | None  # the current minute if it falls on this day
    plan: Mapping[str, Any]  # the plan-file JSON the board was built from
    days: tuple[dt.date, ...] = ()
    changes: Changes | None = None
    options: EventOptions | None = None

    @property
    def now_text(self) -> str | None:
        """The current time as ``HH:MM`` when it falls on this day."""
        return None if self.now is None else format_hhmm(self.now)

    @property
    def date_text(self) -> str:
        """The day written out, e.g. ``Thursday 26 November 2026``."""
        return f"{self.date:%A} {self.date.day} {self.date:%B %Y}"


# -- building the board from a day and its plan -----------------------------------------------


def _minutes(day: Day, text: str) -> int:
    return from_iso(day.date, zone(day.workshop.timezone), text)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _gap(objective: float, bound: float) -> float:
    """``(objective - bound) / objective`` as ``Plan.gap`` defines it; 0 when both are 0."""
    return 0.0 if objective <= 0 else max(0.0, (objective - bound) / objective)


def _operation_label(skill: str, kind: str, minutes: int) -> str:
    return f"{skill} skill, {kind} bay, {minutes} min standard"


def _bars(day: Day, data: Mapping[str, Any], moved: frozenset[str]) -> list[Bar]:
    ws = day.workshop
    raw = list(data.get("assignments") or [])
    timed = [(a, _minutes(day, a["start"]), _minutes(day, a["end"])) for a in raw]
    ready: dict[str, int] = {}
    for a, _, end in timed:
        ready[a["booking"]] = max(ready.get(a["booking"], end), end)
    names = {t.id: t.name for t in ws.technicians}
    bookings = {b.id: b for b in day.bookings}
    out = []
    for a, start, end in timed:
        b = bookings.get(a["booking"])
        service = ws.services.get(a["service"])
        op = None
        if service is not None and 0 <= a["operation"] < len(service.operations):
            op = service.operations[a["operation"]]
        out.append(
            Bar(
                booking=a["booking"],
                customer=b.customer if b else "",
                vehicle=b.vehicle if b else "",
                service=a["service"],
                service_name=service.name if service else a["service"],
                operation=a["operation"],
                operation_label=_operation_label(op.skill, op.bay, op.minutes) if op else "",
                bay=a["bay"],
                technician=a["technician"],
                technician_name=names.get(a["technician"], a["technician"]),
                start=start,
                end=end,
                arrival=b.arrival if b else start,
                promised=day.promised(b) if b else ws.close,
                ready=ready[a["booking"]],
                waiting=b.waiting if b else False,
                parts=tuple(sorted(op.parts.items())) if op else (),
                moved=a["booking"] in moved,
            )
        )
    out.sort(key=lambda x: (x.start, x.bay, x.booking))
    return out


def _bay_rows(day: Day, kpis: Mapping[str, Any]) -> list[Row]:
    util = kpis.get("bay_utilization_by_id") or {}
    return [
        Row(
            id=b.id,
            label=b.id,
            kind="bay",
            shades=tuple(Shade(s, e, "unavailable") for s, e in b.unavailable),
            utilization=util.get(b.id),
            detail=", ".join(sorted(b.kinds)),
        )
        for b in day.workshop.bays
    ]


def _technician_rows(day: Day, kpis: Mapping[str, Any], window: tuple[int, int]) -> list[Row]:
    util = kpis.get("technician_utilization_by_id") or {}
    rows = []
    for t in day.workshop.technicians:
        shades = [Shade(s, e, "break") for s, e in t.breaks]
        shades += [Shade(s, e, "absent") for s, e in t.absent]
        if window[0] < t.shift[0]:
            shades.append(Shade(window[0], t.shift[0], "off-shift"))
        if t.shift[1] < window[1]:
            shades.append(Shade(t.shift[1], window[1], "off-shift"))
        shift = f"{format_hhmm(t.shift[0])}-{format_hhmm(t.shift[1])}"
        rows.append(
            Row(
                id=t.id,
                label=f"{t.id} {t.name}".strip(),
                kind="technician",
                shades=tuple(sorted(shades, key=lambda s: (s.start, s.end))),
                utilization=util.get(t.id),
                detail=f"shift {shift}; {', '.join(sorted(t.skills))}",
            )
        )
    return rows


def _window(day: Day, bars: Sequence[Bar]) -> tuple[int, int]:
    """The chart's range: opening hours and every shift, widened to whole hours."""
    ws = day.workshop
    starts = [ws.open, *(t.shift[0] for t in ws.technicians), *(b.start for b in bars)]
    ends = [ws.close, *(t.shift[1] for t in ws.technicians), *(b.end for b in bars)]
    return (min(starts) // 60 * 60, min(24 * 60, -(-max(ends) // 60) * 60))


def _pct(share: Any) -> str:
    return f"{_number(share):.0%}"


def _minutes_text(value: Any) -> str:
    return f"{_number(value):.0f} min"


def _exact(value: Any) -> str:
    """An exact plan number (halves stay halves), with thousands separated: 2,679.5."""
    v = _number(value)
    return f"{v:,.0f}" if v.is_integer() else f"{v:,.2f}".rstrip("0")


def _cards(data: Mapping[str, Any], gap: float) -> list[KpiCard]:
    k = data.get("kpis") or {}
    waiters, dropoffs = int(k.get("waiters", 0)), int(k.get("dropoffs", 0))
    on_time = _number(k.get("dropoff_on_time_share", 1.0))
    unscheduled = int(k.get("unscheduled", len(data.get("unscheduled") or [])))
    p90 = _number(k.get("waiter_p90_wait", 0))
    status = str(data.get("status", ""))
    penalty = _number((data.get("objective_parts") or {}).get("unscheduled_penalty", 0))
    return [
        KpiCard(
            "weighted_wait",
            "Weighted wait",
            f"{_exact(k.get('weighted_wait', 0))} min",
            f"objective {_exact(data.get('objective'))}"
            + (f", of which {_exact(penalty)} for unscheduled" if penalty else ""),
            help="Sum over bookings of weight times minutes waited: waiters count double. "
            "With the penalty for unscheduled bookings it is what the planner minimises.",
        ),
        KpiCard(
            "waiter_mean_wait",
            "Waiter mean wait",
            _minutes_text(k.get("waiter_mean_wait", 0)),
            f"{waiters} waiter{'s' if waiters != 1 else ''} in the lounge",
            help="Average minutes a waiter sits in the lounge, from arrival to car ready.",
        ),
        KpiCard(
            "waiter_p90_wait",
            "Waiter p90 wait",
            _minutes_text(p90),
            f"longest {_number(k.get('waiter_max_wait', 0)):.0f} min",
            tone="warn" if p90 > 120 else "neutral",
            help="Nine waiters in ten are ready within this many minutes (amber above two hours).",
        ),
        KpiCard(
            "dropoff_on_time_share",
            "Drop-offs on time",
            _pct(on_time),
            f"of {dropoffs}; mean lateness {_minutes_text(k.get('dropoff_mean_lateness', 0))}",
            tone="good" if on_time >= 0.95 else ("warn" if on_time >= 0.8 else "bad"),
            help="Share of drop-off cars ready by their promised time (green from 95%, red "
            "below 80%).",
        ),
        KpiCard(
            "technician_utilization",
            "Utilization",
            _pct(k.get("technician_utilization", 0)),
            f"technicians; bays {_pct(k.get('bay_utilization', 0))}",
            help="Share of technicians' working minutes (shift minus breaks and absences) "
            "spent on jobs; bays over the workday.",
        ),
        KpiCard(
            "unscheduled",
            "Unscheduled",
            str(unscheduled),
            f"of {int(k.get('bookings', 0))} bookings",
            tone="bad" if unscheduled else "good",
            help="Bookings the plan could not place today; each has a reason below.",
        ),
        KpiCard(
            "status",
            "Plan",
            status.title() or "-",
            f"gap {gap:.1%}; bound {_exact(data.get('lower_bound'))}",
            tone="good" if status == "OPTIMAL" else "neutral",
            help="Optimal: proven best. Feasible: solver plan, not proven. Heuristic: dispatch "
            "rule. The gap is how far the plan may be from the best possible.",
        ),
    ]


def _unscheduled(day: Day, data: Mapping[str, Any]) -> list[UnscheduledView]:
    bookings = {b.id: b for b in day.bookings}
    out = []
    for u in data.get("unscheduled") or []:
        b = bookings.get(u["booking"])
        names = [day.workshop.services[c].name for c in b.services] if b else []
        out.append(
            UnscheduledView(
                booking=u["booking"],
                customer=b.customer if b else "",
                vehicle=b.vehicle if b else "",
                services=", ".join(names),
                arrival=format_hhmm(b.arrival) if b else "",
                waiting=b.waiting if b else False,
                reason=str(u.get("reason", "")),
            )
        )
    return out


def _at_risk(bars: Sequence[Bar]) -> list[AtRisk]:
    seen: dict[str, Bar] = {}
    for bar in bars:
        seen.setdefault(bar.booking, bar)
    out = [
        AtRisk(
            booking=b.booking,
            customer=b.customer,
            vehicle=b.vehicle,
            waiting=b.waiting,
            promised=b.promised_text,
            ready=b.ready_text,
            minutes_late=b.ready - b.promised,
        )
        for b in seen.values()
        if b.ready - b.promised > -TIGHT_MINUTES
    ]
    out.sort(key=lambda r: (-r.minutes_late, r.booking))
    return out


def now_minute(day_date: dt.date, tz_name: str, moment: dt.datetime) -> int | None:
    """Minutes since local midnight of ``day_date`` at ``moment``, or None on another day."""
    minute = from_datetime(day_date, zone(tz_name), moment.replace(second=0, microsecond=0))
    return minute if 0 <= minute <= 24 * 60 else None


def build_board(
    day: Day,
    data: Mapping[str, Any],
    *,
    version: int = 0,
    now: int | None = None,
    days: Sequence[dt.date] = (),
    changes: Changes | None = None,
) -> DayBoard:
    """The board of ``day`` for the plan-file JSON ``data`` (a pure function, no database).

    Parameters
    ----------
    day
        The day the plan is for: workshop as in force that day and its booked bookings.
    data
        The plan in the plan-file format (``plan_to_dict`` / ``GET .../plans/{date}``).
    version
        The stored plan version shown (0 for a plan that was never stored).
    now
        The current minute of the day, drawn as a line; None when it is not this day.
    days
        Other days of the workshop, for the day picker.
    changes
        Promises moved by the re-plan being shown; their bars and rows are highlighted.
    """
    moved = changes.moved_bookings if changes else frozenset()
    bars = _bars(day, data, moved)
    window = _window(day, bars)
    if now is not None and not window[0] <= now <= window[1]:
        now = None  # before opening or after the last shift: no line to draw
    objective, bound = _number(data.get("objective")), _number(data.get("lower_bound"))
    gap = _gap(objective, bound)
    kpis = data.get("kpis") or {}
    ws = day.workshop
    return DayBoard(
        workshop_id=ws.id,
        workshop_name=ws.name,
        timezone=ws.timezone,
        date=day.date,
        version=version,
        status=str(data.get("status", "")),
        objective=objective,
        lower_bound=bound,
        gap=gap,
        cards=tuple(_cards(data, gap)),
        bars=tuple(bars),
        bays=tuple(_bay_rows(day, kpis)),
        technicians=tuple(_technician_rows(day, kpis, window)),
        services=tuple(Choice(s.code, s.name) for s in ws.services.values()),
        unscheduled=tuple(_unscheduled(day, data)),
        at_risk=tuple(_at_risk(bars)),
        window=window,
        now=now,
        plan=data,
        days=tuple(days),
        changes=changes,
        options=_options(day, bars, now),
    )


def _options(day: Day, bars: Sequence[Bar], now: int | None) -> EventOptions:
    """Form choices; cars on a lift right now come first, as an overrun is about one of them.

    Running means started before ``now`` and not yet ended, as for the overrun itself: an
    operation starting at ``now`` has not started (a re-plan may still move it).
    """
    ws = day.workshop
    running: dict[str, Bar] = {}
    first: dict[str, Bar] = {}
    for bar in bars:
        first.setdefault(bar.booking, bar)
        if now is not None and bar.start < now < bar.end:
            running[bar.booking] = bar
    rest = sorted(
        (b for b in first.values() if b.booking not in running), key=lambda x: (x.start, x.booking)
    )
    return EventOptions(
        bookings=(
            *(
                Choice(
                    b.booking, f"{b.booking} {b.customer}: running in {b.bay} until {b.end_text}"
                )
                for b in sorted(running.values(), key=lambda x: (x.end, x.booking))
            ),
            *(
                Choice(b.booking, f"{b.booking} {b.customer} ({b.start_text}-{b.ready_text})")
                for b in rest
            ),
        ),
        technicians=tuple(Choice(t.id, f"{t.id} {t.name}") for t in ws.technicians),
        parts=tuple(Choice(p.sku, p.sku) for p in ws.parts.values()),
        services=tuple(Choice(s.code, f"{s.code}: {s.name}") for s in ws.services.values()),
        default_at=format_hhmm(now if now is not None and now < 24 * 60 else ws.open),
    )


# -- the board from the database -------------------------------------------------------------


def _ready(day: Day, data: Mapping[str, Any]) -> dict[str, int]:
    ready: dict[str, int] = {}
    for a in data.get("assignments") or []:
        end = _minutes(day, a["end"])
        ready[a["booking"]] = max(ready.get(a["booking"], end), end)
    return ready


def compare_versions(
    day: Day,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    overruns: tuple[Mapping[str, int], Mapping[str, int]] = ({}, {}),
) -> list[PromiseChange]:
    """Bookings whose ready time differs between two plan-file JSONs of ``day``.

    A booking present in neither plan's assignments (or equal in both) is not listed; one that
    appears only in ``after`` counts as placed only if it was already a booking in ``before``
    (left unscheduled there), so bookings made in between are not reported as changes.
    ``overruns`` (booking -> minute its overrun ends, as known at each version) count too: a
    car whose last operation overran is ready when the overrun ends, though the plan keeps the
    operation's planned times.
    """
    old, new = _ready(day, before), _ready(day, after)
    for ready, overrun in zip((old, new), overruns, strict=True):
        for booking_id, at in ready.items():
            ready[booking_id] = max(at, overrun.get(booking_id, at))
    known = old.keys() | {u["booking"] for u in before.get("unscheduled") or []}
    customers = {b.id: b.customer for b in day.bookings}
    out = []
    for booking_id in sorted(old.keys() | new.keys()):
        a, b = old.get(booking_id), new.get(booking_id)
        if a == b or booking_id not in known:
            continue
        out.append(
            PromiseChange(
                booking=booking_id,
                customer=customers.get(booking_id, ""),
                before=None if a is None else format_hhmm(a),
                after=None if b is None else format_hhmm(b),
                minutes=None if a is None or b is None else b - a,
            )
        )
    # Dropped promises first (a car no longer placed today), then the most delayed, then placed.
    rank = {"dropped": 0, "moved": 1, "placed": 2}
    out.sort(key=lambda c: (rank[c.kind], -(c.minutes or 0), c.booking))
    return out


def _changes(ctx: Context, day: Day, workshop_id: str, version: int, cause: str) -> Changes | None:
    if version < 2:
        return None
    try:
        before = plans.plan_version(ctx.db, workshop_id, day.date, version - 1)
        after = plans.plan_version(ctx.db, workshop_id, day.date, version)
    except NotFound:
        return None
    overruns = (
        daily.overruns_at_version(ctx, workshop_id, day.date, version - 1),
        daily.overruns_at_version(ctx, workshop_id, day.date, version),
    )
    return Changes(version, cause, tuple(compare_versions(day, before, after, overruns)))


def known_day(ctx: Context, workshop_id: str, date: dt.date) -> workshops.WorkshopSummary:
    """The workshop of a day that exists; NotFound naming what is missing otherwise."""
    summary = workshops.get_workshop(ctx.db, workshop_id)
    if date not in summary.days:
        raise NotFound(f"workshop {workshop_id!r} has no day {date.isoformat()}")
    return summary


def day_board(
    ctx: Context,
    workshop_id: str,
    date: dt.date,
    *,
    changed: int | None = None,
    cause: str = "re-plan",
) -> DayBoard:
    """The board of a stored day's current plan; NotFound for an unknown workshop or day.

    ``changed`` names a plan version whose changes to promises (against the version before it)
    are highlighted, as after a re-plan or a day event.
    """
    summary = known_day(ctx, workshop_id, date)
    moment = now_utc(ctx)
    current = plans.current_plan(ctx.db, workshop_id, date, moment)
    day = booking.schedule_snapshot(ctx, workshop_id, date).day
    changes = _changes(ctx, day, workshop_id, changed, cause) if changed else None
    return build_board(
        day,
        current.data,
        version=current.version,
        now=now_minute(date, summary.timezone, moment),
        days=summary.days,
        changes=changes,
    )


def replan(
    ctx: Context,
    workshop_id: str,
    date: dt.date,
    *,
    method: str,
    time_limit: float,
    actor: Actor,
) -> dict[str, Any]:
    """Re-plan the day through the same service function as ``POST .../plans/{date}``."""
    known_day(ctx, workshop_id, date)
    return daily.replan_day(
        ctx=ctx,
        workshop_id=workshop_id,
        date=date,
        method=method,
        time_limit=time_limit,
        actor=actor,
    )


def post_event(
    ctx: Context, workshop_id: str, date: dt.date, event: Mapping[str, Any], *, actor: Actor
) -> dict[str, Any]:
    """Post a day event through the same service function as ``POST .../days/{date}/events``."""
    known_day(ctx, workshop_id, date)
    return daily.post_event(
        ctx=ctx, workshop_id=workshop_id, date=date, event=dict(event), actor=actor
    )


def local_time(date: dt.date, tz_name: str, hhmm: str) -> dt.datetime:
    """The aware instant of ``HH:MM`` on ``date`` in the workshop's zone (ValueError if bad)."""
    return to_datetime(date, zone(tz_name), parse_hhmm(hhmm))


# -- job sheets and exports ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobSheet:
    """One technician's day on paper: jobs in order and every part to pick from the store."""

    technician: str
    name: str
    shift: str
    breaks: str
    jobs: tuple[Bar, ...]
    parts: tuple[tuple[str, int], ...]  # totals to pick, by SKU

    @property
    def minutes(self) -> int:
        """Minutes of work on the sheet."""
        return sum(j.end - j.start for j in self.jobs)


def job_sheets(board: DayBoard, day_technicians: Sequence[Row]) -> list[JobSheet]:
    """One sheet per technician, in the board's technician order, jobs in time order."""
    by_tech: dict[str, list[Bar]] = defaultdict(list)
    for bar in board.bars:
        by_tech[bar.technician].append(bar)
    sheets = []
    for row in day_technicians:
        jobs = sorted(by_tech.get(row.id, []), key=lambda b: (b.start, b.booking))
        totals: dict[str, int] = defaultdict(int)
        for job in jobs:
            for sku, qty in job.parts:
                totals[sku] += qty
        breaks = [s.label.removeprefix("break ") for s in row.shades if s.kind == "break"]
        absent = [s.label for s in row.shades if s.kind == "absent"]
        sheets.append(
            JobSheet(
                technician=row.id,
                name=row.label.removeprefix(row.id).strip(),
                shift=row.detail.split(";")[0].removeprefix("shift ").strip(),
                breaks=", ".join(breaks + absent) or "none",
                jobs=tuple(jobs),
                parts=tuple(sorted(totals.items())),
            )
        )
    return sheets


EXPORT_COLUMNS = (
    "booking",
    "customer",
    "vehicle",
    "waiting",
    "service",
    "service_name",
    "operation",
    "bay",
    "technician",
    "technician_name",
    "start",
    "end",
    "promised",
    "ready",
    "late_minutes",
    "parts",
    "status",
    "reason",
)


def export_rows(board: DayBoard) -> list[dict[str, Any]]:
    """The plan as flat rows: one per operation, then one per unscheduled booking.

    Times are ISO 8601 with the workshop's offset, as in the plan file.
    """
    tz = zone(board.timezone)

    def iso(minute: int) -> str:
        return to_iso(board.date, tz, minute)

    rows: list[dict[str, Any]] = [
        {
            "booking": b.booking,
            "customer": b.customer,
            "vehicle": b.vehicle,
            "waiting": b.waiting,
            "service": b.service,
            "service_name": b.service_name,
            "operation": b.operation,
            "bay": b.bay,
            "technician": b.technician,
            "technician_name": b.technician_name,
            "start": iso(b.start),
            "end": iso(b.end),
            "promised": iso(b.promised),
            "ready": iso(b.ready),
            "late_minutes": b.late_minutes,
            "parts": "; ".join(f"{sku} x{qty}" for sku, qty in b.parts),
            "status": "scheduled",
            "reason": "",
        }
        for b in board.bars
    ]
    for u in board.unscheduled:
        rows.append(
            {
                **dict.fromkeys(EXPORT_COLUMNS, ""),
                "booking": u.booking,
                "customer": u.customer,
                "vehicle": u.vehicle,
                "waiting": u.waiting,
                "service_name": u.services,
                "status": "unscheduled",
                "reason": u.reason,
            }
        )
    return rows


# -- what-if ---------------------------------------------------------------------------------


class WhatIfUnavailable(Exception):
    """The simulation's what-if service is not installed in this build."""


@dataclass(frozen=True, slots=True)
class WhatIfScenario:
    """A named what-if scenario file from ``scenarios/whatif/``."""

    name: str  # the file's stem, used in URLs and forms
    title: str
    description: str
    path: Path


@dataclass(frozen=True, slots=True)
class WhatIfRow:
    """One key figure of a what-if: base, variant and their paired difference with its interval."""

    key: str
    label: str
    base: float | None
    variant: float | None
    difference: float | None
    low: float | None
    high: float | None
    lower_is_better: bool = True

    @property
    def verdict(self) -> str:
        """``better``, ``worse`` or ``no clear difference`` (the interval contains 0)."""
        if self.low is None or self.high is None or self.low <= 0 <= self.high:
            return "no clear difference"
        up = self.low > 0
        return "worse" if up == self.lower_is_better else "better"


@dataclass(frozen=True, slots=True)
class WhatIfView:
    """A what-if run: the scenario, how it was run, and each key figure compared."""

    scenario: str
    title: str
    replications: int
    seed: int
    kpis: tuple[WhatIfRow, ...]
    confidence: float = 0.95
    notes: tuple[str, ...] = ()
    description: str = ""


WhatIfRunner = Callable[[Path, int, int], WhatIfView]
"""The interface the what-if page runs: ``(scenario file, replications, seed) -> result``."""


def _humanize(name: str) -> str:
    text = name.replace("-", " ").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def whatif_scenarios(directory: Path) -> list[WhatIfScenario]:
    """The scenario files in ``directory`` (``*.yaml``), with the title and description they give.

    A file that cannot be read is still listed (by its name): running it reports the problem.
    """
    if not directory.is_dir():
        return []
    out = []
    for path in sorted(directory.glob("*.y*ml")):
        title, description = _humanize(path.stem), ""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            data = None
        if isinstance(data, dict):
            title = str(data.get("title") or _humanize(str(data.get("name") or path.stem)))
            description = str(data.get("description") or "")
        out.append(WhatIfScenario(path.stem, title, description.strip(), path))
    return out


def _interval(value: Any) -> tuple[float | None, float | None, float | None]:
    """(mean, low, high) of an interval given as ``{"mean": x, "ci95": [lo, hi]}`` or a number."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), None, None
    if not isinstance(value, Mapping):
        return None, None, None
    ci = next((v for k, v in value.items() if str(k).startswith("ci")), None)
    low, high = (ci[0], ci[1]) if isinstance(ci, list | tuple) and len(ci) == 2 else (None, None)

    def num(x: Any) -> float | None:
        return None if x is None else float(x)

    return num(value.get("mean")), num(low), num(high)


def whatif_from_json(
    data: Mapping[str, Any], *, scenario: str, title: str, replications: int, seed: int
) -> WhatIfView:
    """The page's view of a what-if answer shaped as ``workshop whatif --json`` prints it.

    Read: ``{"kpis": {name: {"label", "base": I, "variant": I, "difference": I}}}`` where each
    ``I`` is ``{"mean": x, "ci95": [lo, hi]}``; the better direction of each figure comes from
    ``simulation.outcomes.LOWER_IS_BETTER``.
    """
    from simulation.outcomes import KPI_LABELS, LOWER_IS_BETTER

    rows = []
    for key, value in (data.get("kpis") or {}).items():
        diff, low, high = _interval(value.get("difference"))
        rows.append(
            WhatIfRow(
                key=str(key),
                label=_humanize(str(value.get("label") or KPI_LABELS.get(key) or key)),
                base=_interval(value.get("base"))[0],
                variant=_interval(value.get("variant"))[0],
                difference=diff,
                low=low,
                high=high,
                lower_is_better=bool(LOWER_IS_BETTER.get(key, True)),
            )
        )
    notes = []
    variant = data.get("variant") or {}
    base = data.get("base") or {}
    if variant.get("changes"):
        notes.append("Changes: " + "; ".join(str(c) for c in variant["changes"]) + ".")
    if base.get("policy") or variant.get("policy"):
        notes.append(f"Floor policy: base {base.get('policy')}, scenario {variant.get('policy')}.")
    if data.get("seconds") is not None:
        notes.append(f"Simulated in {float(data['seconds']):.1f} s.")
    return WhatIfView(
        scenario=scenario,
        title=title,
        replications=int(data.get("replications", replications)),
        seed=int(data.get("seed", seed)),
        kpis=tuple(rows),
        confidence=float(data.get("confidence", 0.95)),
        notes=tuple(notes),
        description=str(data.get("description") or ""),
    )


def default_whatif_runner() -> WhatIfRunner:
    """The runner of ``api.services.simulation.whatif`` (the ``workshop whatif`` service).

    Raises WhatIfUnavailable when the simulation service is not part of this build.
    """
    try:
        from api.services import simulation
    except ImportError as exc:
        raise WhatIfUnavailable(
            f"the what-if engine could not be loaded ({exc}); the day board works without it"
        ) from exc

    def runner(path: Path, replications: int, seed: int) -> WhatIfView:
        data = simulation.whatif(path, replications=replications, seed=seed).to_json()
        name = str(data.get("scenario") or path.stem)
        return whatif_from_json(
            data, scenario=name, title=_humanize(name), replications=replications, seed=seed
        )

    return runner


def default_whatif_dir() -> Path:
    """``scenarios/whatif`` of the source tree when the package runs from it, else of the cwd."""
    source = Path(__file__).resolve().parents[2] / "scenarios"
    return (source if source.is_dir() else Path.cwd() / "scenarios") / "whatif"
