"""Started work that no longer fits today is a 409 naming the booking, never a 500."""

from __future__ import annotations

import datetime as dt
import pickle
from typing import Any

from tests.api.helpers import DATE, WORKSHOP, local

EVENTS = f"/workshops/{WORKSHOP}/days/{DATE}/events"


def _running_at_0830(client: Any) -> str:
    plan = client.get(f"/workshops/{WORKSHOP}/plans/{DATE}").json()
    at = local("08:30")
    running = [a for a in plan["assignments"] if a["start"] < at < a["end"]]
    assert running
    booking: str = running[0]["booking"]
    return booking


def test_an_overrun_past_the_end_of_the_day_is_a_conflict_naming_the_booking(
    app_client: Any, clock: Any
) -> None:
    clock.set(dt.datetime(2026, 11, 26, 0, 30, tzinfo=dt.UTC))  # 08:30 local
    booking = _running_at_0830(app_client)
    r = app_client.post(
        EVENTS,
        json={"kind": "overrun", "booking": booking, "minutes": 600, "method": "dispatch"},
    )
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    detail = r.json()["detail"]
    assert booking in detail and "operation" in detail and "no longer fits" in detail
    # Nothing was stored: the day is as it was and can still be re-planned.
    assert app_client.get(f"/workshops/{WORKSHOP}/plans/{DATE}").headers["Plan-Version"] == "1"


def test_losing_every_valet_while_a_minor_service_is_on_the_lift_is_a_conflict(
    app_client: Any, clock: Any
) -> None:
    """R1001 (MINOR: lift, then wash by a valet) is on the lift at 08:30; T01 and T03 are the
    only valets, so once both are away the wash can no longer be done today."""
    clock.set(dt.datetime(2026, 11, 26, 0, 30, tzinfo=dt.UTC))  # 08:30 local
    assert _running_at_0830(app_client) == "R1001"
    codes = []
    for technician in ("T01", "T03"):
        r = app_client.post(
            EVENTS, json={"kind": "absent", "technician": technician, "method": "dispatch"}
        )
        codes.append(r.status_code)
    assert codes[-1] == 409, codes
    detail = r.json()["detail"]
    assert "R1001" in detail and "MINOR operation 2" in detail and "valet" in detail


def test_the_error_crosses_process_boundaries() -> None:
    """It is raised in a solver worker process, so it must survive pickling."""
    from api.services.replan import StartedWorkDoesNotFit

    error = StartedWorkDoesNotFit("R1", "MINOR operation 2", "no technician with skill 'valet'")
    again = pickle.loads(pickle.dumps(error))
    assert (again.booking, again.operation, again.reason) == (
        error.booking,
        error.operation,
        error.reason,
    )
    assert str(again) == str(error)
