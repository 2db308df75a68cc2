"""The booking flow end to end over HTTP, on SQLite and (when configured) PostgreSQL.

Every test here also checks the audit log: each change it makes over HTTP (a hold made, a
booking confirmed or cancelled, a re-plan, a day event) has exactly one entry, in order, naming
the client, the instant on the service's clock and the hold, booking or day changed; refused
and replayed requests have none (``AuditTrail``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from api.db.migrate import head
from tests.api.helpers import (
    DATE,
    WORKSHOP,
    add_key,
    assert_valid_plan,
    bearer,
    overlaps,
    stored_day,
)

SLOTS = f"/workshops/{WORKSHOP}/slots"
DAY = {"from": "2026-11-26T07:30:00+08:00", "to": "2026-11-26T19:00:00+08:00"}


CHANGES: list[tuple[str, re.Pattern[str], str]] = [
    # (method, path, audit action) of the requests that change something when they succeed
    ("POST", re.compile(r"/workshops/[^/]+/holds"), "hold.create"),
    ("POST", re.compile(r"/holds/(?P<hold>[^/]+)/confirm"), "hold.confirm"),
    ("DELETE", re.compile(r"/workshops/[^/]+/bookings/(?P<booking>[^/]+)"), "booking.cancel"),
    ("POST", re.compile(r"/workshops/[^/]+/plans/(?P<date>[^/]+)"), "plan.replan"),
    ("POST", re.compile(r"/workshops/[^/]+/days/(?P<date>[^/]+)/events"), "day.event"),
]


class AuditTrail:
    """The changes a client makes, noted from its answers as the audit log should list them:
    (action, target, instant on the service's clock)."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.changes: list[tuple[str, str, dt.datetime]] = []

    def note(self, response: httpx.Response) -> None:
        """Note the change a successful, not replayed answer made (an httpx response hook)."""
        request = response.request
        if response.status_code >= 300 or response.headers.get("Idempotent-Replayed"):
            return
        for method, path, action in CHANGES:
            found = path.fullmatch(request.url.path)
            if request.method != method or found is None:
                continue
            response.read()
            if action == "hold.create":
                target = response.json()["id"]
            elif action == "hold.confirm":
                target = response.json()["booking"]
            else:
                target = found["booking" if action == "booking.cancel" else "date"]
            self.changes.append((action, str(target), self.clock.now()))
            return


def _audit(client: Any) -> list[dict[str, Any]]:
    answer = client.get(f"/workshops/{WORKSHOP}/audit", params={"limit": 1000})
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()["entries"]
    return entries


@contextmanager
def audited(client: Any, clock: Any, actor: str) -> Iterator[AuditTrail]:
    """Check, when the block ends, that the audit log gained one entry per change the client
    made in it (and nothing else), by ``actor``, at the clock's instant of the change."""
    known = {e["id"] for e in _audit(client)}
    trail = AuditTrail(clock)
    client.event_hooks["response"].append(trail.note)
    try:
        yield trail
    finally:
        client.event_hooks["response"].remove(trail.note)
    new = [e for e in reversed(_audit(client)) if e["id"] not in known]
    assert [(e["action"], e["target"]) for e in new] == [(a, t) for a, t, _ in trail.changes]
    for entry, (_, _, at) in zip(new, trail.changes, strict=True):
        assert entry["actor"] == actor and entry["workshop"] == WORKSHOP
        assert dt.datetime.fromisoformat(entry["at"]) == at, entry
        assert entry["at"].endswith("+08:00")  # in the workshop's zone


@pytest.fixture(autouse=True)
def _one_audit_entry_per_change(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test on ``app_client`` (the ``test-manager`` key) runs inside ``audited``."""
    if "app_client" not in request.fixturenames:
        yield
        return
    client, clock = request.getfixturevalue("app_client"), request.getfixturevalue("clock")
    with audited(client, clock, "test-manager") as trail:
        yield
    assert trail.changes or request.node.name.startswith(
        ("test_errors_are_problems", "test_health_and_openapi")
    ), "the test changed nothing: the audit check saw no change"


def _slots(client: Any, services: str = "MINOR", waiting: bool = False) -> list[dict[str, Any]]:
    r = client.get(SLOTS, params={"services": services, "waiting": waiting, **DAY})
    assert r.status_code == 200, r.text
    slots: list[dict[str, Any]] = r.json()["slots"]
    return slots


def test_slots_hold_confirm_and_the_plan_contains_the_booking(
    app_client: Any, db_url: str, clock: Any
) -> None:
    slots = _slots(app_client, "MINOR,TYRE")
    assert slots and all(s["arrival"] <= s["promised"] for s in slots)
    offer = slots[3]
    hold = app_client.post(f"/workshops/{WORKSHOP}/holds", json={"slot": offer["slot"]})
    assert hold.status_code == 201, hold.text
    assert hold.json()["promised"] == offer["promised"]
    again = app_client.post(f"/workshops/{WORKSHOP}/holds", json={"slot": offer["slot"]})
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    confirm = app_client.post(
        f"/holds/{hold.json()['id']}/confirm", json={"customer": "Qian", "vehicle": "沪G77777"}
    )
    assert confirm.status_code == 201, confirm.text
    booking = confirm.json()["booking"]
    assert confirm.json()["ready"] == offer["promised"]
    plan = app_client.get(f"/workshops/{WORKSHOP}/plans/{DATE}")
    assert plan.status_code == 200
    assert booking in {a["booking"] for a in plan.json()["assignments"]}
    day = stored_day(db_url, clock.now())
    assert_valid_plan(day, plan.json())
    assert overlaps(db_url) == 0
    got = app_client.get(f"/workshops/{WORKSHOP}/bookings/{booking}")
    assert got.status_code == 200 and got.json()["source"] == "online"
    cancelled = app_client.delete(f"/workshops/{WORKSHOP}/bookings/{booking}")
    assert cancelled.json()["status"] == "cancelled"
    plan = app_client.get(f"/workshops/{WORKSHOP}/plans/{DATE}").json()
    assert booking not in {a["booking"] for a in plan["assignments"]}


def test_offers_never_move_existing_promises(app_client: Any, db_url: str, clock: Any) -> None:
    before = app_client.get(f"/workshops/{WORKSHOP}/plans/{DATE}").json()["assignments"]
    for i in range(5):  # offers are fetched again after each booking: older ones may be taken
        offers = _slots(app_client, "TYRE")
        offer = offers[min(i * 3, len(offers) - 1)]
        hold = app_client.post(f"/workshops/{WORKSHOP}/holds", json={"slot": offer["slot"]})
        assert hold.status_code == 201
        confirm = app_client.post(f"/holds/{hold.json()['id']}/confirm", json={"customer": "x"})
        assert confirm.status_code == 201, confirm.text
    after = app_client.get(f"/workshops/{WORKSHOP}/plans/{DATE}").json()
    assert all(a in after["assignments"] for a in before)
    assert_valid_plan(stored_day(db_url, clock.now()), after)


def test_an_expired_hold_cannot_be_confirmed_and_its_slot_is_offered_again(
    app_client: Any, clock: Any
) -> None:
    offer = _slots(app_client)[0]
    hold = app_client.post(f"/workshops/{WORKSHOP}/holds", json={"slot": offer["slot"]}).json()
    assert offer["arrival"] not in {
        s["arrival"] for s in _slots(app_client) if s["promised"] == offer["promised"]
    }
    clock.advance(minutes=5, seconds=1)
    assert (offer["arrival"], offer["promised"]) in {
        (s["arrival"], s["promised"]) for s in _slots(app_client)
    }
    late = app_client.post(f"/holds/{hold['id']}/confirm", json={"customer": "Late"})
    assert late.status_code == 409
    assert late.json()["type"] == "/problems/hold-expired"
    assert app_client.get(f"/holds/{hold['id']}").json()["status"] == "expired"
    fresh = app_client.post(f"/workshops/{WORKSHOP}/holds", json={"slot": offer["slot"]})
    assert fresh.status_code == 201


def test_idempotency_keys_replay_and_refuse_other_bodies(app_client: Any) -> None:
    offers = _slots(app_client)
    url = f"/workshops/{WORKSHOP}/holds"
    first = app_client.post(url, json={"slot": offers[0]["slot"]}, headers={"Idempotency-Key": "k"})
    replay = app_client.post(
        url, json={"slot": offers[0]["slot"]}, headers={"Idempotency-Key": "k"}
    )
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["Idempotent-Replayed"] == "true"
    other = app_client.post(url, json={"slot": offers[5]["slot"]}, headers={"Idempotency-Key": "k"})
    assert other.status_code == 422 and other.json()["type"] == "/problems/idempotency-key-reused"
    hold = first.json()["id"]
    one = app_client.post(
        f"/holds/{hold}/confirm", json={"customer": "A"}, headers={"Idempotency-Key": "c"}
    )
    two = app_client.post(
        f"/holds/{hold}/confirm", json={"customer": "A"}, headers={"Idempotency-Key": "c"}
    )
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    bookings = app_client.get(f"/workshops/{WORKSHOP}/bookings", params={"date": str(DATE)})
    assert sum(b["source"] == "online" for b in bookings.json()["bookings"]) == 1


def test_errors_are_problems(app_client: Any) -> None:
    cases = [
        app_client.get("/workshops/nope"),
        app_client.get(SLOTS, params={"services": "NOPE"}),
        app_client.get(SLOTS, params={"services": "MINOR", "from": "2026-11-26T08:00:00"}),
        app_client.post(f"/workshops/{WORKSHOP}/holds", json={"slot": "forged.token"}),
        app_client.post(f"/workshops/{WORKSHOP}/holds", json={"nope": 1}),
        app_client.post("/holds/H0/confirm", json={"customer": "x"}),
        app_client.get(f"/workshops/{WORKSHOP}/plans/2026-13-01"),
        app_client.get("/no/such/route"),
    ]
    assert [r.status_code for r in cases] == [404, 422, 422, 422, 422, 404, 422, 404]
    for r in cases:
        body = r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
        assert {"type", "title", "status", "detail"} <= set(body)
    assert cases[1].json()["field"] == "services"
    assert cases[4].json()["field"] in {"slot", "nope"}


def test_health_and_openapi(app_client: Any) -> None:
    assert app_client.get("/healthz").json()["status"] == "ok"
    assert app_client.get("/readyz").json()["revision"] == head()
    doc = app_client.get("/openapi.json").json()
    assert "/workshops/{workshop_id}/slots" in doc["paths"]
    assert "example" in doc["components"]["schemas"]["SlotList"]


def test_replan_and_day_events_keep_started_work_and_list_moves(
    app_client: Any, db_url: str, clock: Any
) -> None:
    base = f"/workshops/{WORKSHOP}"
    v1 = app_client.get(f"{base}/plans/{DATE}").json()
    replanned = app_client.post(f"{base}/plans/{DATE}", json={"method": "dispatch"})
    assert replanned.status_code == 201 and replanned.json()["version"] == 2
    clock.set(dt.datetime(2026, 11, 26, 0, 30, tzinfo=dt.UTC))  # 08:30 local
    v2 = app_client.get(f"{base}/plans/{DATE}").json()
    started = [a for a in v2["assignments"] if a["start"] < "2026-11-26T08:30:00+08:00"]
    running = next(a for a in started if a["end"] > "2026-11-26T08:30:00+08:00")
    overrun = app_client.post(
        f"{base}/days/{DATE}/events",
        json={
            "kind": "overrun",
            "booking": running["booking"],
            "minutes": 40,
            "method": "cpsat",
            "time_limit": 2,
        },
    )
    assert overrun.status_code == 201, overrun.text
    body = overrun.json()
    assert body["status"] in {"HEURISTIC", "FEASIBLE", "OPTIMAL"}
    assert body["frozen"] == len(started)
    assert any(m["booking"] == running["booking"] and m["minutes"] >= 40 for m in body["moved"])
    plan = app_client.get(f"{base}/plans/{DATE}").json()
    assert all(a in plan["assignments"] for a in started)
    assert_valid_plan(stored_day(db_url, clock.now()), plan)
    for event in (
        {"kind": "absent", "technician": "T02", "method": "dispatch"},
        {
            "kind": "part-late",
            "sku": "FLT-OIL",
            "arrives": "2026-11-26T15:00:00+08:00",
            "method": "dispatch",
        },
        {"kind": "walk-in", "services": ["TYRE"], "customer": "Walk In", "method": "dispatch"},
    ):
        r = app_client.post(f"{base}/days/{DATE}/events", json=event)
        assert r.status_code == 201, r.text
        plan = app_client.get(f"{base}/plans/{DATE}").json()
        assert_valid_plan(stored_day(db_url, clock.now()), plan)
        assert all(a in plan["assignments"] for a in started)
    versions = int(app_client.get(f"{base}/plans/{DATE}").headers["Plan-Version"])
    assert versions == 6
    assert app_client.get(f"{base}/plans/{DATE}/versions/1").json() == v1
    bad = app_client.post(f"{base}/days/{DATE}/events", json={"kind": "absent", "technician": "X"})
    assert bad.status_code == 422


def test_cpsat_replan_in_the_solver_pool_keeps_holds_and_started_work(
    db_url: str, clock: Any
) -> None:
    """A CP-SAT re-plan runs in a worker process, with a live hold and started work frozen."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.services.workshops import load_day_file
    from api.settings import Settings
    from tests.api.conftest import SMALL_DAY

    settings = Settings(database_url=db_url, solver_processes=1, hold_minutes=120)
    app = create_app(settings, clock=clock)
    load_day_file(app.state.context.db, SMALL_DAY, replace=False, now=clock.now())
    with (
        TestClient(app, headers=bearer(add_key(app, "pool", "manager"))) as client,
        audited(client, clock, "pool"),
    ):
        offer = _slots(client, "TYRE")[8]
        hold = client.post(f"/workshops/{WORKSHOP}/holds", json={"slot": offer["slot"]})
        assert hold.status_code == 201
        clock.set(dt.datetime(2026, 11, 26, 0, 30, tzinfo=dt.UTC))  # 08:30 local
        before = client.get(f"/workshops/{WORKSHOP}/plans/{DATE}").json()["assignments"]
        r = client.post(
            f"/workshops/{WORKSHOP}/plans/{DATE}", json={"method": "cpsat", "time_limit": 2}
        )
        assert r.status_code == 201, r.text
        plan = client.get(f"/workshops/{WORKSHOP}/plans/{DATE}").json()
        started = [a for a in before if a["start"] < "2026-11-26T08:30:00+08:00"]
        assert all(a in plan["assignments"] for a in started)
        assert_valid_plan(stored_day(db_url, clock.now()), plan)
        assert overlaps(db_url) == 0
        confirm = client.post(f"/holds/{hold.json()['id']}/confirm", json={"customer": "Held"})
        assert confirm.status_code == 201


def test_parts_held_and_booked_count_against_stock(app_client: Any) -> None:
    """FLT-OIL: 6 on the shelf + 4 at 10:30 = 10 for the day; the loaded MINORs take 3, so
    seven more MINOR holds use the rest and then no MINOR can be offered, while TYRE (no
    parts) still can."""
    for _ in range(7):
        offers = _slots(app_client, "MINOR")
        assert offers
        hold = app_client.post(f"/workshops/{WORKSHOP}/holds", json={"slot": offers[0]["slot"]})
        assert hold.status_code == 201, hold.text
    assert _slots(app_client, "MINOR") == []
    assert _slots(app_client, "TYRE")
