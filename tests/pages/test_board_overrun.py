"""The board after an overrun of a booking's last operation: its promise is shown as moved.

An overrun keeps the operation's planned times in the plan (plan durations are the
catalogue's); the car is ready when the overrun ends. Comparing the plans' ready times alone would
leave the booking whose work overran unhighlighted when the overrun operation is its last.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Any

from api.services.board import build_board, compare_versions
from scheduler.plan import Plan, PlanStatus
from scheduler.planfile import plan_to_dict
from tests.pages.conftest import BOARD, DATE, HTML, WORKSHOP
from tests.utils import hm, tiny_day, tiny_valid_assignments

PLAN = f"/workshops/{WORKSHOP}/plans/{DATE.isoformat()}"


def test_compare_versions_counts_an_overrun_of_the_last_operation() -> None:
    """B3 (a wash, ready 09:30 in the tiny plan) overran until 10:00; the plan is unchanged."""
    day = tiny_day()
    data = plan_to_dict(
        day, Plan.build(day, tiny_valid_assignments(), [], status=PlanStatus.HEURISTIC)
    )
    changes = compare_versions(day, data, copy.deepcopy(data), ({}, {"B3": hm("10:00")}))
    assert [(c.booking, c.kind, c.before, c.after, c.minutes) for c in changes] == [
        ("B3", "moved", "09:30", "10:00", 30)
    ]
    # An overrun known at both versions is no change, and one that ends before the planned
    # end of the booking's later work moves nothing.
    both = ({"B3": hm("10:00")}, {"B3": hm("10:00")})
    assert compare_versions(day, data, data, both) == []
    assert compare_versions(day, data, data, ({}, {"B1": hm("08:55")})) == []


def test_the_board_highlights_the_booking_whose_last_operation_overran(client: Any) -> None:
    plan = client.get(PLAN).json()
    ops: dict[str, list[dict[str, Any]]] = {}
    for a in sorted(plan["assignments"], key=lambda a: a["start"]):
        ops.setdefault(a["booking"], []).append(a)
    # R1004's tyre change is its last operation; post the overrun while it runs.
    last = ops["R1004"][-1]
    at = (dt.datetime.fromisoformat(last["start"]) + dt.timedelta(minutes=5)).strftime("%H:%M")
    posted = client.post(
        f"{BOARD}/events",
        data={"kind": "overrun", "booking": "R1004", "minutes": "45", "at": at},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text[:500]
    page = client.get(posted.headers["location"], headers=HTML).text
    match = re.search(r'<table[^>]*id="moves-table".*?</table>', page, re.S)
    assert match, "no moves table"
    assert "R1004" in re.findall(r'<tr data-booking="([^"]+)"', match.group(0))
    highlighted = set(re.findall(r'<tr data-booking="([^"]+)" class="moved', page))
    assert "R1004" in highlighted


def test_the_overrun_form_calls_running_only_what_has_started() -> None:
    """At 08:50 B1's oil change has just ended and its wash starts: neither is under way, so
    the form must not offer B1 as "running in W1" (an overrun then is about the oil change,
    the last operation started before 08:50). The wash is not labelled running."""
    day = tiny_day()
    data = plan_to_dict(
        day, Plan.build(day, tiny_valid_assignments(), [], status=PlanStatus.HEURISTIC)
    )
    at_start = build_board(day, data, now=hm("08:50")).options
    assert at_start is not None
    assert not any("running" in c.label for c in at_start.bookings), at_start.bookings
    under_way = build_board(day, data, now=hm("08:55")).options
    assert under_way is not None
    assert under_way.bookings[0].value == "B1" and "running in W1" in under_way.bookings[0].label
