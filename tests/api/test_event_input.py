"""Times and quantities at the edges: every bad value is a 422 naming its field, never a 500
and never a silent no-op."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.api.helpers import DATE, WORKSHOP, local

EVENTS = f"/workshops/{WORKSHOP}/days/{DATE}/events"
PLANS = f"/workshops/{WORKSHOP}/plans/{DATE}"
SLOTS = f"/workshops/{WORKSHOP}/slots"


def _invalid(r: Any, field: str, words: str = "") -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["field"] == field, r.json()
    assert words in r.json()["detail"], r.json()["detail"]


def test_slot_queries_outside_the_calendar_are_invalid(app_client: Any) -> None:
    for params, field in [
        ({"from": "9999-12-31T23:00:00+00:00"}, "from"),
        ({"from": "0001-01-01T00:00:00+00:00", "to": "0001-01-02T00:00:00+00:00"}, "from"),
        ({"to": "9999-12-31T23:59:59+00:00"}, "to"),
        ({"from": "2026-11-26T08:00:00"}, "from"),
    ]:
        _invalid(app_client.get(SLOTS, params={"services": "MINOR", **params}), field)


def test_a_re_plan_now_far_from_the_day_is_invalid(app_client: Any) -> None:
    for now in (
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00+00:00",
        "2026-12-30T08:00:00+08:00",
        "2026-11-26T08:00:00",
    ):
        _invalid(app_client.post(PLANS, json={"now": now}), "now")
    near = app_client.post(PLANS, json={"now": "2026-11-27T10:00:00+08:00", "method": "dispatch"})
    assert near.status_code == 201, near.text  # the next day: everything has started


def test_event_times_far_away_are_invalid(app_client: Any) -> None:
    walk_in = {"kind": "walk-in", "services": ["TYRE"], "method": "dispatch"}
    _invalid(app_client.post(EVENTS, json={**walk_in, "at": "9999-12-31T23:59:59+00:00"}), "at")
    _invalid(app_client.post(EVENTS, json={**walk_in, "at": "2026-11-26T09:00:00"}), "at")
    absent = {"kind": "absent", "technician": "T01", "at": local("09:00"), "method": "dispatch"}
    _invalid(
        app_client.post(EVENTS, json={**absent, "until": "9999-12-31T23:00:00+00:00"}), "until"
    )


def test_an_event_at_on_another_day_is_invalid_not_clamped(app_client: Any) -> None:
    r = app_client.post(
        EVENTS,
        json={
            "kind": "walk-in",
            "services": ["TYRE"],
            "at": "2026-11-25T09:00:00+08:00",
            "method": "dispatch",
        },
    )
    _invalid(r, "at", "not within the day")
    assert app_client.get(PLANS).headers["Plan-Version"] == "1"


def test_absence_until_must_come_after_at(app_client: Any, clock: Any) -> None:
    clock.set(dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC))  # 09:00 local
    absent = {"kind": "absent", "technician": "T01", "at": local("09:00"), "method": "dispatch"}
    _invalid(app_client.post(EVENTS, json={**absent, "until": local("08:00")}), "until")
    # 00:00 of the day is the day's start, not its end.
    _invalid(
        app_client.post(EVENTS, json={**absent, "until": "2026-11-26T00:00:00+08:00"}), "until"
    )
    # Midnight at the end of the day is the end of the day.
    r = app_client.post(EVENTS, json={**absent, "until": "2026-11-27T00:00:00+08:00"})
    assert r.status_code == 201, r.text


def test_a_late_part_that_matches_no_delivery_is_invalid(app_client: Any, clock: Any) -> None:
    clock.set(dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC))  # 09:00 local
    late = {"kind": "part-late", "sku": "FLT-OIL", "arrives": local("15:00"), "method": "dispatch"}
    _invalid(app_client.post(EVENTS, json={**late, "expected": local("11:00")}), "expected")
    _invalid(app_client.post(EVENTS, json={**late, "quantity": 10**30}), "quantity")
    moved = app_client.post(EVENTS, json={**late, "expected": local("10:30")})
    assert moved.status_code == 201, moved.text
    clock.set(dt.datetime(2026, 11, 26, 3, 0, tzinfo=dt.UTC))  # 11:00 local
    oil = {**late, "sku": "OIL-5W30"}  # its only delivery came at 10:30
    _invalid(app_client.post(EVENTS, json=oil), "quantity", "no delivery")
    announced = app_client.post(EVENTS, json={**oil, "quantity": 3})
    assert announced.status_code == 201, announced.text
