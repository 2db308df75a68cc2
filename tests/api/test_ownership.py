"""Booking clients see and touch only what they made; personal data only where it is needed.

Two booking systems (``shop-a`` and ``shop-b``) book into the same workshop. Neither can read,
confirm, release or cancel the other's holds and bookings, whether it guesses their ids or
walks through every id the service has made: each such request answers exactly as for an id
that does not exist. Idempotency-Keys are per client. Slot offers name no technician, not even
inside their tokens. Viewers read bookings without customer or vehicle; booking clients never
see technicians.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api.db.models import BookingRow, HoldRow, WorkshopRow
from tests.api.helpers import DATE, WORKSHOP, add_key, bearer

BASE = f"/workshops/{WORKSHOP}"
DAY = {"from": "2026-11-26T07:30:00+08:00", "to": "2026-11-26T19:00:00+08:00"}


@pytest.fixture
def shops(tmp_path: Path, clock: Any, small_day_sqlite: Path) -> Iterator[dict[str, Any]]:
    """Clients of one app: booking systems ``a`` and ``b``, ``viewer`` and ``manager``."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings

    path = tmp_path / "shops.db"
    shutil.copyfile(small_day_sqlite, path)
    app = create_app(Settings(database_url=f"sqlite:///{path}", solver_processes=0), clock=clock)
    roles = {"a": "booking", "b": "booking", "viewer": "viewer", "manager": "manager"}
    clients = {
        name: TestClient(
            app, raise_server_exceptions=False, headers=bearer(add_key(app, name, role))
        )
        for name, role in roles.items()
    }
    with clients["manager"]:
        yield clients


def _hold(client: Any, index: int = 0) -> dict[str, Any]:
    offers = client.get(f"{BASE}/slots", params={"services": "TYRE", **DAY}).json()["slots"]
    answer = client.post(f"{BASE}/holds", json={"slot": offers[index]["slot"]})
    assert answer.status_code == 201, answer.text
    hold: dict[str, Any] = answer.json()
    return hold


def _book(client: Any, customer: str) -> str:
    hold = _hold(client)
    answer = client.post(
        f"/holds/{hold['id']}/confirm", json={"customer": customer, "vehicle": "沪A00001"}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["booking"])


def _same_as_unknown(answer: Any, unknown: Any, real_id: str, fake_id: str) -> None:
    assert answer.status_code == unknown.status_code == 404, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json() == json.loads(unknown.text.replace(fake_id, real_id))


def test_another_clients_hold_answers_as_an_unknown_one(shops: dict[str, Any]) -> None:
    a, b = shops["a"], shops["b"]
    hold = _hold(a)["id"]
    fake = "H" + "f" * 20
    for method, suffix, body in (
        ("GET", "", None),
        ("DELETE", "", None),
        ("POST", "/confirm", {"customer": "Thief"}),
    ):
        mine = b.request(method, f"/holds/{hold}{suffix}", json=body)
        unknown = b.request(method, f"/holds/{fake}{suffix}", json=body)
        _same_as_unknown(mine, unknown, hold, fake)
    # The hold is untouched: still held, and its owner can confirm it.
    assert a.get(f"/holds/{hold}").json()["status"] == "held"
    assert a.post(f"/holds/{hold}/confirm", json={"customer": "Owner"}).status_code == 201


def test_another_clients_booking_answers_as_an_unknown_one(shops: dict[str, Any]) -> None:
    a, b = shops["a"], shops["b"]
    booking = _book(a, "Alice")
    fake = "B" + "F" * 12
    for method in ("GET", "DELETE"):
        mine = b.request(method, f"{BASE}/bookings/{booking}")
        unknown = b.request(method, f"{BASE}/bookings/{fake}")
        _same_as_unknown(mine, unknown, booking, fake)
    listed = b.get(f"{BASE}/bookings").json()["bookings"]
    assert listed == []  # b made none; the loaded day's bookings are not its either
    assert [x["id"] for x in a.get(f"{BASE}/bookings").json()["bookings"]] == [booking]
    assert a.get(f"{BASE}/bookings/{booking}").json()["status"] == "booked"


def test_enumerating_every_id_the_service_made_finds_nothing_of_others(
    shops: dict[str, Any],
) -> None:
    """``b`` tries every hold and booking id in the database (as if it had guessed them all)."""
    a, b, manager = shops["a"], shops["b"], shops["manager"]
    _book(a, "Alice")
    _hold(a, 2)
    mine = _book(b, "Bob")
    db = manager.app.state.context.db
    with db.read() as session:
        holds = session.scalars(select(HoldRow.id)).all()
        bookings = session.scalars(select(BookingRow.booking_id)).all()
    assert len(holds) == 3 and len(bookings) == 6 + 2  # the loaded day's six, and two online
    seen_holds = [h for h in holds if b.get(f"/holds/{h}").status_code == 200]
    seen_bookings = [x for x in bookings if b.get(f"{BASE}/bookings/{x}").status_code == 200]
    assert seen_bookings == [mine]
    assert len(seen_holds) == 1
    for x in bookings:
        if x != mine:
            assert b.delete(f"{BASE}/bookings/{x}").status_code == 404
    for h in holds:
        if h not in seen_holds:
            assert b.post(f"/holds/{h}/confirm", json={"customer": "B"}).status_code == 404
    states = {x["id"]: x["status"] for x in manager.get(f"{BASE}/bookings").json()["bookings"]}
    assert set(states.values()) == {"booked"}


def test_idempotency_keys_are_per_client(shops: dict[str, Any]) -> None:
    a, b = shops["a"], shops["b"]
    key = {"Idempotency-Key": "same-key"}
    offers = a.get(f"{BASE}/slots", params={"services": "TYRE", **DAY}).json()["slots"]
    first = a.post(f"{BASE}/holds", json={"slot": offers[0]["slot"]}, headers=key)
    offers = b.get(f"{BASE}/slots", params={"services": "TYRE", **DAY}).json()["slots"]
    other = b.post(f"{BASE}/holds", json={"slot": offers[0]["slot"]}, headers=key)
    assert first.status_code == other.status_code == 201
    assert first.json()["id"] != other.json()["id"]  # b's key did not replay a's answer
    assert "Idempotent-Replayed" not in other.headers


def test_offers_name_no_technician_not_even_in_their_tokens(shops: dict[str, Any]) -> None:
    a = shops["a"]
    answer = a.get(f"{BASE}/slots", params={"services": "MINOR,TYRE", **DAY})
    text = answer.text
    with a.app.state.context.db.read() as session:
        row = session.get(WorkshopRow, WORKSHOP)
        assert row is not None
        technicians = row.config["technicians"]
    assert technicians
    offers = answer.json()["slots"]
    for offer in offers:
        assert set(offer) == {"slot", "arrival", "promised", "waiting", "services"}
        shown = json.dumps({k: v for k, v in offer.items() if k != "slot"})
        sealed = base64.urlsafe_b64decode(offer["slot"] + "=" * (-len(offer["slot"]) % 4))
        for tech in technicians:
            assert tech["id"] not in shown and tech["name"] not in text
        # Encrypted, not merely encoded: none of the witness's JSON shows through.
        assert b'"x":' not in sealed and b'"w":' not in sealed


def test_personal_data_only_for_the_roles_that_need_it(shops: dict[str, Any]) -> None:
    a, viewer, manager = shops["a"], shops["viewer"], shops["manager"]
    booking = _book(a, "Alice")
    url = f"{BASE}/bookings/{booking}"
    own = a.get(url).json()
    assert (own["customer"], own["vehicle"], own["technician"]) == ("Alice", "沪A00001", None)
    seen = viewer.get(url).json()
    assert (seen["customer"], seen["vehicle"]) == (None, None)
    assert all(b["customer"] is None for b in viewer.get(f"{BASE}/bookings").json()["bookings"])
    assert manager.get(url).json()["customer"] == "Alice"
    assert a.get(f"{BASE}/plans/{DATE}").status_code == 403  # plans name technicians
