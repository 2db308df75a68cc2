"""Clients that misbehave: huge bodies, request floods, slots held and never confirmed.

The service runs in a thread of the test process (uvicorn on a free port) and twenty clients
call it at once from threads, on SQLite and on PostgreSQL: the cap on a client's open holds is
counted in the database under a lock on the client's row, so it holds under any concurrency
(on PostgreSQL, transactions really do run side by side); the rate limits are per process.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.db.models import HELD, ApiClientRow, HoldRow
from tests.api.conftest import SMALL_DAY
from tests.api.helpers import WORKSHOP, add_key, bearer, overlaps
from tests.api.servers import serving

BASE = f"/workshops/{WORKSHOP}"
DAYS = {"from": "2026-11-26T07:30:00+08:00", "to": "2026-11-28T19:00:00+08:00"}


@contextmanager
def _service(
    db_url: str, clock: Any, request: pytest.FixtureRequest, **settings: Any
) -> Iterator[tuple[Any, str]]:
    """The small day served over HTTP with these settings: (app, base URL)."""
    from api.main import create_app
    from api.services.workshops import load_day_file
    from api.settings import Settings

    if db_url.startswith("sqlite"):
        template: Path = request.getfixturevalue("small_day_sqlite")
        shutil.copyfile(template, db_url.removeprefix("sqlite:///"))
    app = create_app(Settings(database_url=db_url, solver_processes=0, **settings), clock=clock)
    if not db_url.startswith("sqlite"):
        load_day_file(app.state.context.db, SMALL_DAY, replace=False, now=clock.now())
    with serving(app) as url:
        yield app, url


def _problem(answer: httpx.Response, status: int, kind: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"] == f"/problems/{kind}"


def _open_holds(app: Any) -> dict[str, int]:
    """Open holds per client name, counted in the database."""
    with app.state.context.db.read() as session:
        rows = session.execute(
            select(ApiClientRow.name, func.count())
            .join(HoldRow, HoldRow.client_id == ApiClientRow.id)
            .where(HoldRow.status == HELD)
            .group_by(ApiClientRow.name)
        ).all()
    return {name: int(n) for name, n in rows}


def test_bodies_over_the_limit_are_refused_before_they_are_read(app_client: Any) -> None:
    big = {"slot": "x" * 70_000}
    _problem(app_client.post(f"{BASE}/holds", json=big), 413, "content-too-large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"slot": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    answer = app_client.post(
        f"{BASE}/holds", content=chunks(), headers={"Content-Type": "application/json"}
    )
    _problem(answer, 413, "content-too-large")
    assert app_client.get("/healthz").status_code == 200


def test_paths_and_queries_are_validated_strictly(app_client: Any) -> None:
    for url in (
        "/workshops/bad%20id",
        "/workshops/" + "w" * 101,
        "/holds/H%3Cscript%3E",
        f"{BASE}/bookings/x%00y",
        f"{BASE}/bookings?status=lost",
        f"{BASE}/audit?limit=0",
        f"{BASE}/audit?limit=abc",
    ):
        answer = app_client.get(url)
        _problem(answer, 422, "validation-error")
        assert "Traceback" not in answer.text
    _problem(
        app_client.get(f"{BASE}/slots", params={"services": "MINOR\x07"}), 422, "validation-error"
    )


def test_slot_search_rate_limit_holds_under_twenty_threads(
    db_url: str, clock: Any, request: pytest.FixtureRequest
) -> None:
    """40 searches at once by one client with a limit of 10 a minute: 10 answered (perhaps
    one more, refilled while they ran), the rest 429 with Retry-After; another client is not
    slowed down by it."""
    with _service(db_url, clock, request, slot_searches_per_minute=10) as (app, url):
        greedy, other = add_key(app, "greedy", "booking"), add_key(app, "other", "booking")

        def search(_: int) -> httpx.Response:
            return httpx.get(
                f"{url}{BASE}/slots",
                params={"services": "TYRE", **DAYS},
                headers=bearer(greedy),
                timeout=30,
            )

        started = time.monotonic()
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(search, range(40)))
        elapsed = time.monotonic() - started
        codes = Counter(a.status_code for a in answers)
        assert set(codes) <= {200, 429}
        assert 10 <= codes[200] <= 10 + 1 + int(elapsed * 10 / 60), codes
        refused = next(a for a in answers if a.status_code == 429)
        _problem(refused, 429, "too-many-requests")
        assert int(refused.headers["Retry-After"]) >= 1
        fine = httpx.get(
            f"{url}{BASE}/slots", params={"services": "TYRE", **DAYS}, headers=bearer(other)
        )
        assert fine.status_code == 200


def test_the_open_hold_cap_holds_under_twenty_concurrent_clients(
    db_url: str, clock: Any, request: pytest.FixtureRequest
) -> None:
    """Twenty booking clients each try four holds at once, with a cap of two open holds: no
    client ever has more than two, every refusal is a 429 or a taken slot, nothing overlaps."""
    with _service(db_url, clock, request, max_open_holds=2) as (app, url):
        keys = {f"shop-{i}": add_key(app, f"shop-{i}", "booking") for i in range(20)}
        offers = httpx.get(
            f"{url}{BASE}/slots",
            params={"services": "TYRE", **DAYS},
            headers=bearer(keys["shop-0"]),
        ).json()["slots"]
        assert len(offers) >= 100
        tries = [
            (name, offers[(i * 4 + k) % len(offers)]["slot"])
            for i, name in enumerate(keys)
            for k in range(4)
        ]

        def hold(job: tuple[str, str]) -> tuple[str, int, str]:
            name, token = job
            answer = httpx.post(
                f"{url}{BASE}/holds", json={"slot": token}, headers=bearer(keys[name]), timeout=60
            )
            return (
                name,
                answer.status_code,
                answer.json()["type"] if answer.status_code >= 400 else "",
            )

        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(hold, tries))
        assert {code for _, code, _ in answers} <= {201, 409, 429}
        assert {kind for _, code, kind in answers if code == 429} <= {"/problems/too-many-requests"}
        made = Counter(name for name, code, _ in answers if code == 201)
        assert max(made.values()) <= 2
        assert all(n <= 2 for n in _open_holds(app).values())
        assert sum(code == 429 for _, code, _ in answers) >= 20 * 4 - 2 * 20 - sum(
            code == 409 for _, code, _ in answers
        )
        assert overlaps(db_url) == 0


def test_a_hostile_client_hammering_holds_cannot_stop_another_from_booking(
    db_url: str, clock: Any, request: pytest.FixtureRequest
) -> None:
    """``hostile`` holds slots from five threads as fast as it can and never confirms;
    ``shop`` still finds a free slot, holds and books it."""
    with _service(db_url, clock, request, max_open_holds=3, holds_per_minute=60) as (app, url):
        hostile, shop = add_key(app, "hostile", "booking"), add_key(app, "shop", "booking")
        stop = threading.Event()
        hostile_codes: Counter[int] = Counter()
        lock = threading.Lock()

        def hammer(_: int) -> None:
            with httpx.Client(base_url=url, headers=bearer(hostile), timeout=60) as client:
                while not stop.is_set():
                    found = client.get(f"{BASE}/slots", params={"services": "TYRE", **DAYS})
                    slots = found.json().get("slots", []) if found.status_code == 200 else []
                    for offer in slots[:3]:
                        code = client.post(
                            f"{BASE}/holds", json={"slot": offer["slot"]}
                        ).status_code
                        with lock:
                            hostile_codes[code] += 1

        with ThreadPoolExecutor(5) as pool:
            running = [pool.submit(hammer, i) for i in range(5)]
            deadline = time.monotonic() + 30
            while not hostile_codes[429] and time.monotonic() < deadline:
                time.sleep(0.05)  # the shop books once the hostile client is being refused
            booked = None
            with httpx.Client(base_url=url, headers=bearer(shop), timeout=60) as client:
                for _ in range(10):  # a taken slot is a 409: ask again, as a booking system would
                    offers = client.get(f"{BASE}/slots", params={"services": "TYRE", **DAYS})
                    assert offers.status_code == 200, offers.text
                    for offer in offers.json()["slots"][:5]:
                        held = client.post(f"{BASE}/holds", json={"slot": offer["slot"]})
                        if held.status_code == 201:
                            done = client.post(
                                f"/holds/{held.json()['id']}/confirm", json={"customer": "Fair"}
                            )
                            assert done.status_code == 201, done.text
                            booked = done.json()["booking"]
                            break
                    if booked:
                        break
            stop.set()
            for future in running:
                future.result()
        assert booked is not None
        assert hostile_codes[429] > 0, hostile_codes
        assert _open_holds(app).get("hostile", 0) <= 3
        assert overlaps(db_url) == 0
