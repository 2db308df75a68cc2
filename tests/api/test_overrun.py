"""Overruns and late events: applied correctly or refused with a 4xx naming what is wrong.

The small day's plan (dispatch) has, among others: R1002 TYRE on T02 in L2 08:15-08:48, R1004
MINOR on T01 in L1 09:30-10:30, its wash 10:30-10:50 and its TYRE (its last operation) on T01
in L1 10:50-11:20, and R1005 MINOR on T02 in L2 from 10:00. Each test reads the times it relies
on from the plan rather than trusting this list.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.api.helpers import DATE, WORKSHOP, assert_valid_plan, local, stored_day

BASE = f"/workshops/{WORKSHOP}"
EVENTS = f"{BASE}/days/{DATE}/events"
PLANS = f"{BASE}/plans/{DATE}"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _at(hhmm: str) -> dt.datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return dt.datetime(2026, 11, 26, hours, minutes, tzinfo=SHANGHAI)


def _ops(client: Any, booking: str) -> list[dict[str, Any]]:
    plan = client.get(PLANS).json()
    return sorted(
        (a for a in plan["assignments"] if a["booking"] == booking), key=lambda a: a["start"]
    )


def _overrun(client: Any, booking: str, minutes: int, at: str | None = None) -> Any:
    body: dict[str, Any] = {
        "kind": "overrun",
        "booking": booking,
        "minutes": minutes,
        "method": "dispatch",
    }
    if at is not None:
        body["at"] = local(at)
    return client.post(EVENTS, json=body)


def _moved(response: Any) -> dict[str, dict[str, Any]]:
    return {m["booking"]: m for m in response.json()["moved"]}


def test_an_overrun_of_finished_work_that_collides_with_work_started_since_is_refused(
    app_client: Any, clock: Any
) -> None:
    """R1002's tyre change ended at 08:48; 90 minutes more would have kept T02 and L2 busy
    until 10:18, but R1005 started there at 10:00. The 409 names the overrun that cannot be
    true, not R1005 alone ("has started but no longer fits today")."""
    (tyre,) = _ops(app_client, "R1002")
    assert tyre["end"] == local("08:48") and (tyre["technician"], tyre["bay"]) == ("T02", "L2")
    r1005 = _ops(app_client, "R1005")[0]
    assert r1005["start"] == local("10:00") and r1005["technician"] == "T02"
    clock.set(_at("10:45"))
    r = _overrun(app_client, "R1002", 90)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    detail = r.json()["detail"]
    for words in ("R1002", "08:48", "10:18", "R1005", "10:00", "T02"):
        assert words in detail, detail
    assert app_client.get(PLANS).headers["Plan-Version"] == "1"


def test_an_overrun_reported_after_the_planned_end_moves_that_booking_s_promise(
    app_client: Any, db_url: str, clock: Any
) -> None:
    """At 09:25 the manager reports R1002's tyre change (planned to end 08:48) took 40
    minutes longer: the car is ready at 09:28. R1002 is among the moved promises: its
    customer has to be told."""
    clock.set(_at("09:25"))
    r = _overrun(app_client, "R1002", 40)
    assert r.status_code == 201, r.text
    moved = _moved(r)
    assert "R1002" in moved, r.json()["moved"]
    assert (moved["R1002"]["before"], moved["R1002"]["after"]) == (local("08:48"), local("09:28"))
    assert moved["R1002"]["minutes"] == 40
    assert_valid_plan(stored_day(db_url, clock.now()), app_client.get(PLANS).json())


def test_an_overrun_of_a_booking_s_last_operation_lists_its_promise_as_moved(
    app_client: Any, db_url: str, clock: Any
) -> None:
    """R1004's tyre change is its last operation; 90 minutes more makes the car ready 90
    minutes later. Its own booking is listed, not only those pushed back by it."""
    last = _ops(app_client, "R1004")[-1]
    start = dt.datetime.fromisoformat(last["start"])
    clock.set(start + dt.timedelta(minutes=10))
    r = _overrun(app_client, "R1004", 90)
    assert r.status_code == 201, r.text
    moved = _moved(r)
    assert "R1004" in moved, r.json()["moved"]
    assert moved["R1004"]["before"] == last["end"]
    assert moved["R1004"]["minutes"] == 90
    assert_valid_plan(stored_day(db_url, clock.now()), app_client.get(PLANS).json())


def test_an_overrun_at_the_minute_the_operation_starts_is_invalid(
    app_client: Any, clock: Any
) -> None:
    """An operation starting at the event's minute has not started (re-planning may still move
    it), so an overrun then is refused rather than moving the whole booking after its own
    overrun, which would leave its technician and bay idle for it."""
    first = _ops(app_client, "R1004")[0]
    clock.set(dt.datetime.fromisoformat(first["start"]))
    r = _overrun(app_client, "R1004", 30)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "booking"
    assert "R1004" in r.json()["detail"] and "not started" in r.json()["detail"]
    assert app_client.get(PLANS).headers["Plan-Version"] == "1"


def test_a_late_event_re_plans_from_the_present_not_from_its_time(
    app_client: Any, db_url: str, clock: Any
) -> None:
    """A walk-in posted at 12:00 for 09:00: nothing new can start before 12:00, and work that
    has started by 12:00 stays as it was. Re-planning from 09:00 would put the walk-in
    (and work already under way) into the morning that is over."""
    before = app_client.get(PLANS).json()["assignments"]
    clock.set(_at("12:00"))
    r = app_client.post(
        EVENTS,
        json={"kind": "walk-in", "services": ["TYRE"], "at": local("09:00"), "method": "dispatch"},
    )
    assert r.status_code == 201, r.text
    after = app_client.get(PLANS).json()["assignments"]
    started = [a for a in before if a["start"] < local("12:00")]
    assert all(a in after for a in started)
    for a in after:
        if a not in started:
            assert a["start"] >= local("12:00"), a
    assert_valid_plan(stored_day(db_url, clock.now()), app_client.get(PLANS).json())
