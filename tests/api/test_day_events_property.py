"""Random days of events against the service's re-planner: what must hold after every one.

A day unfolds: the clock moves on, and the manager posts overruns, absences, late parts and
walk-ins (DESIGN.md's day events), sometimes a while after they happened, and re-plans. After
each event the service either refuses it with a 4xx (and keeps the plan it had) or stores a
re-plan, and then:
- the stored plan passes the plan checker against the stored day;
- no booking disappears: each one the day had (and each walk-in) is placed or unscheduled with
  a reason;
- work started before the re-plan's minute (the later of the event's time and the clock) is
  exactly as it was, nothing else starts before that minute, and the work after an overrun
  waits for it;
- every booking whose car is ready at another time (overruns counted) is listed as moved, and
  no other.
Anything else (an error that is not a 4xx, a plan refused by the checker: a 500 over HTTP)
fails the test, with the sequence of events that led to it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as outcome
from hypothesis import strategies as st

from api.clock import ManualClock
from api.db.session import Database
from api.services import daily
from api.services.audit import Actor
from api.services.context import Context
from api.services.errors import ServiceError
from api.services.plans import current_plan
from api.services.solver import SolverPool
from api.settings import Settings
from scheduler.checker import check_plan
from scheduler.clock import from_datetime, from_iso, to_datetime, zone
from scheduler.planfile import plan_from_dict
from tests.api.helpers import DATE, WORKSHOP, stored_day

TZ = zone("Asia/Shanghai")
DAY = 24 * 60
SERVICES = ("MINOR", "TYRE", "EVCHECK")
TECHNICIANS = ("T01", "T02", "T03")
PARTS = ("OIL-5W30", "FLT-OIL")

step = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["overrun", "overrun", "absent", "part-late", "walk-in", "replan"]),
        "advance": st.sampled_from([0, 5, 15, 30, 45, 90]),  # the clock moves on first
        "late": st.sampled_from([0, 0, 0, 5, 30]),  # the event happened this long ago
        "pick": st.integers(0, 99),  # which booking, technician or part
        "minutes": st.sampled_from([5, 20, 45, 120]),
        "span": st.sampled_from([None, 30, 120]),  # absence length, part delay
        "services": st.lists(st.sampled_from(SERVICES), min_size=1, max_size=2, unique=True),
        "waiting": st.booleans(),
    }
)


def _minute(iso: str) -> int:
    return from_iso(DATE, TZ, iso)


def _at(minute: int) -> dt.datetime:
    return to_datetime(DATE, TZ, minute)


@contextmanager
def _service(template: Path, start: int) -> Iterator[tuple[Context, str]]:
    """A service context on a fresh copy of the small day, its clock at ``start``; with the
    database URL."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "day.db"
        shutil.copyfile(template, path)
        url = f"sqlite:///{path}"
        db = Database(url)
        try:
            ctx = Context(
                db=db,
                clock=ManualClock(_at(start)),
                settings=Settings(database_url=url, solver_processes=0),
                token_key=b"k" * 32,
                solver=SolverPool(0),
            )
            yield ctx, url
        finally:
            db.dispose()


def _event(s: dict[str, Any], at: int, plan: dict[str, Any], method: str) -> dict[str, Any]:
    """The day event ``s`` describes, at minute ``at``, naming things of the current plan."""
    event: dict[str, Any] = {"kind": s["kind"], "at": _at(at), "method": method}
    if method == "cpsat":
        event["time_limit"] = 0.5
    if s["kind"] == "overrun":
        bookings = sorted({a["booking"] for a in plan["assignments"]})
        event.update(booking=bookings[s["pick"] % len(bookings)], minutes=s["minutes"])
    elif s["kind"] == "absent":
        event["technician"] = TECHNICIANS[s["pick"] % len(TECHNICIANS)]
        if s["span"] is not None:
            event["until"] = _at(min(DAY, at + s["span"]))
    elif s["kind"] == "part-late":
        event.update(
            sku=PARTS[s["pick"] % len(PARTS)], arrives=_at(min(DAY, at + (s["span"] or 0)))
        )
        if s["pick"] % 3 == 0:
            event["quantity"] = 5
    elif s["kind"] == "walk-in":
        event.update(services=s["services"], waiting=s["waiting"], customer="Walk In")
    return event


def _ready(plan: dict[str, Any]) -> dict[str, int]:
    ready: dict[str, int] = {}
    for a in plan["assignments"]:
        ready[a["booking"]] = max(ready.get(a["booking"], 0), _minute(a["end"]))
    return ready


def _with(ready: dict[str, int], overruns: dict[str, int]) -> dict[str, int]:
    return {b: max(at, overruns.get(b, at)) for b, at in ready.items()}


def _overrun_end(plan: dict[str, Any], booking: str, at: int, minutes: int) -> int:
    """When the overrun posted at ``at`` ends: the booking's last operation started before
    ``at`` takes ``minutes`` longer than planned."""
    ops = sorted(
        (_minute(a["start"]), _minute(a["end"]))
        for a in plan["assignments"]
        if a["booking"] == booking
    )
    started = [end for start, end in ops if start < at]
    assert started, f"an overrun of {booking} was accepted though nothing of it started by {at}"
    return min(DAY, started[-1] + minutes)


def _check_day(template: Path, start: int, steps: list[dict[str, Any]], method: str) -> None:
    with _service(template, start) as (ctx, url):
        clock = ctx.clock
        assert isinstance(clock, ManualClock)
        plan = current_plan(ctx.db, WORKSHOP, DATE, clock.now())
        data, version = plan.data, plan.version
        expected = {a["booking"] for a in data["assignments"]}
        expected |= {u["booking"] for u in data["unscheduled"]}
        overruns: dict[str, int] = {}
        for s in steps:
            clock.advance(minutes=s["advance"])
            present = min(DAY, from_datetime(DATE, TZ, clock.now()))
            if present >= DAY:
                break
            at = max(0, present - s["late"])
            try:
                if s["kind"] == "replan":
                    at = present
                    answer = daily.replan_day(
                        ctx=ctx,
                        workshop_id=WORKSHOP,
                        date=DATE,
                        method=method,
                        time_limit=0.5,
                        actor=Actor("tests"),
                    )
                else:
                    event = _event(s, at, data, method)
                    answer = daily.post_event(
                        ctx=ctx,
                        workshop_id=WORKSHOP,
                        date=DATE,
                        event=event,
                        actor=Actor("tests"),
                    )
            except ServiceError as refused:
                outcome(f"{s['kind']}: refused {refused.status}")
                # Refused with a clear 4xx: nothing was stored.
                assert 400 <= refused.status < 500, refused
                assert current_plan(ctx.db, WORKSHOP, DATE, clock.now()).version == version
                continue
            outcome(f"{s['kind']}: re-planned")
            after = current_plan(ctx.db, WORKSHOP, DATE, clock.now())
            assert after.version == answer["version"] == version + 1
            new = after.data
            day = stored_day(url, clock.now())
            violations = check_plan(day, plan_from_dict(day, new))
            assert violations == [], [str(v) for v in violations[:3]]

            # No booking disappears: placed or unscheduled with a reason.
            placed = {a["booking"] for a in new["assignments"]}
            reasons = {u["booking"]: u["reason"] for u in new["unscheduled"]}
            if s["kind"] == "walk-in":
                (walk_in,) = {b.id for b in day.bookings} - expected
                expected.add(walk_in)
            assert expected == {b.id for b in day.bookings}
            assert expected == placed | reasons.keys()
            assert all(reason.strip() for reason in reasons.values())

            # Started work stays; nothing else starts before the re-plan's minute.
            freeze = max(at, present)
            key = ("booking", "service", "operation", "bay", "technician", "start", "end")
            old_ops = {tuple(a[k] for k in key) for a in data["assignments"]}
            new_ops = {tuple(a[k] for k in key) for a in new["assignments"]}
            started = {a for a in old_ops if _minute(str(a[5])) < freeze}
            assert started <= new_ops, sorted(started - new_ops)
            assert all(_minute(str(a[5])) >= freeze for a in new_ops - started)

            before_overruns = dict(overruns)
            if s["kind"] == "overrun":
                booking, minutes = event["booking"], event["minutes"]
                end = _overrun_end(data, booking, at, minutes)
                overruns[booking] = max(overruns.get(booking, 0), end)
                for a in new_ops - started:
                    if a[0] == booking:
                        assert _minute(str(a[5])) >= end, (a, end)

            # Every promise that moved, and only those, is listed.
            old_ready = _with(_ready(data), before_overruns)
            new_ready = _with(_ready(new), overruns)
            moved = {b for b, at_ in old_ready.items() if new_ready.get(b) != at_}
            assert {m["booking"] for m in answer["moved"]} == moved
            data, version = new, after.version


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(start=st.integers(7 * 60 + 30, 13 * 60), steps=st.lists(step, min_size=1, max_size=6))
def test_random_day_events_keep_plans_valid_bookings_present_and_started_work_in_place(
    small_day_sqlite: Path, start: int, steps: list[dict[str, Any]]
) -> None:
    _check_day(small_day_sqlite, start, steps, "dispatch")


@pytest.mark.slow
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(start=st.integers(7 * 60 + 30, 13 * 60), steps=st.lists(step, min_size=1, max_size=4))
def test_random_day_events_with_cpsat_re_plans(
    small_day_sqlite: Path, start: int, steps: list[dict[str, Any]]
) -> None:
    _check_day(small_day_sqlite, start, steps, "cpsat")
