"""Many clients at once against real server processes: never a double booking.

On SQLite one server process (the file's write lock serialises writers); on PostgreSQL two
processes on one database (the exclusion constraint and the day lock keep them honest). Each
test starts its own server processes, so they are slow tests (``pytest -m slow``).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.db.migrate import upgrade
from api.db.session import Database
from api.services.workshops import load_day_file
from tests.api.conftest import SMALL_DAY
from tests.api.helpers import WORKSHOP, LiveDay, assert_valid_plan, overlaps, stored_day
from tests.api.servers import Server

LIVE = LiveDay(SMALL_DAY)
DAYS = LIVE.window
pytestmark = pytest.mark.slow


@pytest.fixture
def servers(db_url: str, tmp_path: Path) -> Iterator[list[Server]]:
    """The small day loaded, and one (SQLite) or two (PostgreSQL) server processes on it."""
    db = Database(db_url)
    upgrade(db)
    load_day_file(db, LIVE.write(tmp_path), replace=False, now=LIVE.now)
    db.dispose()
    count = 1 if db_url.startswith("sqlite") else 2
    started = [Server(db_url, tmp_path).start() for _ in range(count)]
    yield started
    for server in started:
        server.stop()


def _slots(base: str, services: str = "MINOR") -> list[dict[str, Any]]:
    r = httpx.get(f"{base}/workshops/{WORKSHOP}/slots", params={"services": services, **DAYS})
    assert r.status_code == 200, r.text
    slots: list[dict[str, Any]] = r.json()["slots"]
    return slots


def test_two_hundred_holds_for_one_slot_make_one_hold(servers: list[Server], db_url: str) -> None:
    token = _slots(servers[0].url)[0]["slot"]
    clients = [httpx.Client(base_url=s.url, timeout=60) for s in servers]

    def attempt(i: int) -> int:
        client = clients[i % len(clients)]
        r = client.post(f"/workshops/{WORKSHOP}/holds", json={"slot": token})
        if r.status_code != 201:
            assert r.headers["content-type"].startswith("application/problem+json")
        return r.status_code

    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(attempt, range(200)))
    assert codes.count(201) == 1
    assert codes.count(409) == 199
    assert overlaps(db_url) == 0


def test_the_same_confirm_ten_times_at_once_makes_one_booking(
    servers: list[Server], db_url: str
) -> None:
    base = servers[0].url
    token = _slots(base)[2]["slot"]
    hold = httpx.post(f"{base}/workshops/{WORKSHOP}/holds", json={"slot": token}).json()

    def confirm(i: int) -> tuple[int, str]:
        url = servers[i % len(servers)].url
        r = httpx.post(
            f"{url}/holds/{hold['id']}/confirm",
            json={"customer": "Once"},
            headers={"Idempotency-Key": "confirm-once"},
            timeout=60,
        )
        return r.status_code, r.json().get("booking", "")

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(confirm, range(10)))
    assert {code for code, _ in answers} == {201}
    assert len({booking for _, booking in answers}) == 1
    found = httpx.get(f"{base}/workshops/{WORKSHOP}/bookings").json()["bookings"]
    assert sum(b["customer"] == "Once" for b in found) == 1


def test_random_holds_confirms_and_cancels_for_a_whole_day(
    servers: list[Server], db_url: str
) -> None:
    confirmed: set[str] = set()
    cancelled: set[str] = set()
    lock = threading.Lock()
    unexpected: list[str] = []

    def customer(seed: int) -> None:
        rng = random.Random(seed)
        client = httpx.Client(base_url=servers[seed % len(servers)].url, timeout=60)
        mine: list[str] = []
        for _ in range(6):
            services = rng.choice(["MINOR", "TYRE", "EVCHECK", "MINOR,TYRE"])
            r = client.get(f"/workshops/{WORKSHOP}/slots", params={"services": services, **DAYS})
            offers = r.json()["slots"]
            if not offers:
                continue
            offer = rng.choice(offers[:12])
            hold = client.post(f"/workshops/{WORKSHOP}/holds", json={"slot": offer["slot"]})
            if hold.status_code == 409:
                continue
            if hold.status_code != 201:
                unexpected.append(hold.text)
                continue
            if rng.random() < 0.2:
                released = client.delete(f"/holds/{hold.json()['id']}")
                if released.status_code != 200:
                    unexpected.append(released.text)
                continue
            done = client.post(f"/holds/{hold.json()['id']}/confirm", json={"customer": f"c{seed}"})
            if done.status_code != 201:
                unexpected.append(done.text)
                continue
            mine.append(done.json()["booking"])
            with lock:
                confirmed.add(done.json()["booking"])
            if mine and rng.random() < 0.25:
                victim = mine.pop(rng.randrange(len(mine)))
                gone = client.delete(f"/workshops/{WORKSHOP}/bookings/{victim}")
                if gone.status_code != 200:
                    unexpected.append(gone.text)
                with lock:
                    cancelled.add(victim)

    with ThreadPoolExecutor(20) as pool:
        list(pool.map(customer, range(20)))
    assert unexpected == []
    assert confirmed
    assert overlaps(db_url) == 0
    in_plans: set[str] = set()
    for date in LIVE.dates:
        r = httpx.get(f"{servers[0].url}/workshops/{WORKSHOP}/plans/{date}")
        if r.status_code == 404:
            continue
        assert r.status_code == 200, r.text
        day = stored_day(db_url, LIVE.now, date)
        assert_valid_plan(day, r.json())
        in_plans |= {a["booking"] for a in r.json()["assignments"]}
    assert confirmed - cancelled <= in_plans
    assert not (cancelled & in_plans)
