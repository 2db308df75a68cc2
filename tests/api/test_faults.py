"""Faults: a server killed with SIGKILL mid-flight, clients retrying with the same keys; the
database's connections cut, and the PostgreSQL server itself restarted, under load.

No acknowledged booking may be lost and none may be made twice; bookings confirmed before a
restart are all there after it; after a database outage the service answers again within 10
seconds. Every test here starts server processes: they are slow tests (``pytest -m slow``).
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from api.db.migrate import upgrade
from api.db.session import Database
from api.services.workshops import load_day_file
from tests.api.conftest import SMALL_DAY
from tests.api.helpers import WORKSHOP, LiveDay, overlaps
from tests.api.servers import Server

LIVE = LiveDay(SMALL_DAY)
DAYS = LIVE.window


@pytest.mark.slow
def test_sigkill_during_a_hundred_holds_loses_and_duplicates_nothing(
    db_url: str, tmp_path: Path
) -> None:
    db = Database(db_url)
    upgrade(db)
    load_day_file(db, LIVE.write(tmp_path), replace=False, now=LIVE.now)
    db.dispose()
    server = Server(db_url, tmp_path).start()
    tokens = []
    for services in ("TYRE", "MINOR", "EVCHECK"):
        r = httpx.get(
            f"{server.url}/workshops/{WORKSHOP}/slots", params={"services": services, **DAYS}
        )
        tokens += [s["slot"] for s in r.json()["slots"]]
    assert len(tokens) >= 100
    acknowledged: dict[int, str] = {}
    lock = threading.Lock()
    started = threading.Event()
    failures: list[str] = []
    retried: list[int] = []

    def customer(i: int) -> None:
        hold_id = None
        deadline = time.monotonic() + 120
        with httpx.Client(base_url=server.url, timeout=30) as client:
            while time.monotonic() < deadline:
                try:
                    if hold_id is None:
                        r = client.post(
                            f"/workshops/{WORKSHOP}/holds",
                            json={"slot": tokens[i]},
                            headers={"Idempotency-Key": f"hold-{i}"},
                        )
                        started.set()
                        if r.status_code == 409:
                            return
                        if r.status_code != 201:
                            failures.append(f"hold {r.status_code} {r.text}")
                            return
                        hold_id = r.json()["id"]
                    r = client.post(
                        f"/holds/{hold_id}/confirm",
                        json={"customer": f"fault-{i}"},
                        headers={"Idempotency-Key": f"confirm-{i}"},
                    )
                    if r.status_code == 201:
                        with lock:
                            acknowledged[i] = r.json()["booking"]
                    else:
                        failures.append(f"confirm {r.status_code} {r.text}")
                    return
                except httpx.TransportError:
                    retried.append(i)
                    time.sleep(0.2)  # the server is down: retry with the same keys
        failures.append(f"customer {i} gave up")

    with ThreadPoolExecutor(20) as pool:
        futures = [pool.submit(customer, i) for i in range(100)]
        started.wait(30)
        time.sleep(0.5)
        server.kill()
        killed_with = len(acknowledged)
        server = Server(db_url, tmp_path, port=server.port).start()
        for f in futures:
            f.result()
    try:
        assert failures == []
        assert killed_with < 100 and retried, "the kill did not interrupt anything in flight"
        assert acknowledged, "no booking was acknowledged at all"
        before_restart = httpx.get(f"{server.url}/workshops/{WORKSHOP}/bookings").json()
        server.stop()
        server = Server(db_url, tmp_path, port=server.port).start()
        after = httpx.get(f"{server.url}/workshops/{WORKSHOP}/bookings").json()["bookings"]
        assert after == before_restart["bookings"]
        by_id = {b["id"]: b for b in after}
        for i, booking in acknowledged.items():
            assert by_id[booking]["status"] == "booked"
            assert by_id[booking]["customer"] == f"fault-{i}"
        per_customer: dict[str, int] = {}
        for b in after:
            per_customer[b["customer"]] = per_customer.get(b["customer"], 0) + 1
        assert all(n == 1 for c, n in per_customer.items() if c.startswith("fault-"))
        assert overlaps(db_url) == 0
    finally:
        server.stop()


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@dataclass
class Load:
    """What ten customers booking in a loop saw: every status code and every booking made."""

    acknowledged: list[str] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, code: int, booking: str | None = None) -> None:
        with self.lock:
            self.codes.append(code)
            if booking is not None:
                self.acknowledged.append(booking)


@contextmanager
def customers_booking(base: str, seconds: float, count: int = 10) -> Iterator[Load]:
    """``count`` customers holding and confirming TYRE slots with keys for ``seconds``."""
    load = Load()
    stop = time.monotonic() + seconds

    def customer(seed: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            n = 0
            while time.monotonic() < stop:
                n += 1
                try:
                    r = client.get(
                        f"/workshops/{WORKSHOP}/slots", params={"services": "TYRE", **DAYS}
                    )
                    load.record(r.status_code)
                    offers = r.json().get("slots", []) if r.status_code == 200 else []
                    if not offers:
                        time.sleep(0.1)
                        continue
                    key = f"{seed}-{n}"
                    hold = client.post(
                        f"/workshops/{WORKSHOP}/holds",
                        json={"slot": offers[(seed * 7 + n) % len(offers)]["slot"]},
                        headers={"Idempotency-Key": f"h{key}"},
                    )
                    load.record(hold.status_code)
                    if hold.status_code != 201:
                        continue
                    done = client.post(
                        f"/holds/{hold.json()['id']}/confirm",
                        json={"customer": f"drop-{key}"},
                        headers={"Idempotency-Key": f"c{key}"},
                    )
                    booking = done.json()["booking"] if done.status_code == 201 else None
                    load.record(done.status_code, booking)
                except httpx.HTTPError:
                    time.sleep(0.1)

    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(customer, i) for i in range(count)]
        yield load
        for f in futures:
            f.result()


def _wait_ready(base: str, since: float, within: float = 10.0) -> float:
    """Seconds from ``since`` until /readyz answers 200; fails after ``within`` seconds."""
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return time.monotonic() - since
        except httpx.HTTPError:
            pass
        assert time.monotonic() - since < within, "the service did not come back in time"
        time.sleep(0.1)


def _check_invariants(url: str, base: str, load: Load) -> None:
    """Nothing acknowledged lost, nothing twice, no overlap, no 5xx but 503 (retry)."""
    assert load.acknowledged, "no booking was made at all"
    found = httpx.get(f"{base}/workshops/{WORKSHOP}/bookings").json()["bookings"]
    ids = [b["id"] for b in found]
    assert set(load.acknowledged) <= set(ids) and len(ids) == len(set(ids))
    assert overlaps(url) == 0
    assert all(c < 500 or c == 503 for c in load.codes), load.codes


def _postgres_loaded(url: str, folder: Path) -> None:
    from tests.api.conftest import _empty_postgres

    _empty_postgres(url)
    db = Database(url)
    upgrade(db)
    load_day_file(db, LIVE.write(folder), replace=False, now=LIVE.now)
    db.dispose()


@pytest.mark.slow
@pytest.mark.postgres
def test_database_connections_dropped_under_load(postgres_url: str, tmp_path: Path) -> None:
    """Every connection to the database is killed twice mid-load (what a PostgreSQL restart
    does to the service); writes retry, the service answers again within 10 s, and nothing
    acknowledged is lost or double-booked."""
    from sqlalchemy import create_engine, text

    _postgres_loaded(postgres_url, tmp_path)
    server = Server(postgres_url, tmp_path).start()
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = postgres_url.rsplit("/", 1)[1]
    try:
        with customers_booking(server.url, seconds=12) as load:
            for _ in range(2):
                time.sleep(3)
                with admin.connect() as conn:
                    conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :name AND pid <> pg_backend_pid()"
                        ),
                        {"name": name},
                    )
                _wait_ready(server.url, time.monotonic())
        _check_invariants(postgres_url, server.url, load)
    finally:
        admin.dispose()
        server.stop()


def _cluster(port: int) -> tuple[str, str, str]:
    """Version, name and status of this machine's PostgreSQL cluster on ``port``."""
    listed = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
    )
    for line in listed.stdout.splitlines():
        version, name, cluster_port, status, *_ = line.split()
        if int(cluster_port) == port:
            return version, name, status
    pytest.skip(f"no local PostgreSQL cluster listens on port {port}")


@contextmanager
def _postgres_left_running(port: int) -> Iterator[Callable[[], None]]:
    """A restart of the local PostgreSQL on ``port``, which is started again whatever
    happens."""
    version, name, _ = _cluster(port)

    def pg_ctl(action: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def restart() -> None:
        done = pg_ctl("restart")
        assert done.returncode == 0, done.stderr

    try:
        yield restart
    finally:
        if _cluster(port)[2] != "online":
            pg_ctl("start")
        assert _cluster(port)[2] == "online", "PostgreSQL is not running after the test"


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.skipif(shutil.which("pg_ctlcluster") is None, reason="needs pg_ctlcluster")
def test_postgresql_restarted_under_load(postgres_url: str, tmp_path: Path) -> None:
    """The PostgreSQL server this machine runs is restarted while customers book: the service
    answers again within 10 s of the database coming back, requests in flight get 503 (retry)
    at worst, nothing acknowledged is lost, nothing is booked twice, nothing overlaps."""
    from sqlalchemy.engine import make_url

    port = make_url(postgres_url).port or 5432
    _cluster(port)  # skip early where the server is not a local cluster
    _postgres_loaded(postgres_url, tmp_path)
    server = Server(postgres_url, tmp_path).start()
    try:
        with _postgres_left_running(port) as restart, customers_booking(server.url, 14) as load:
            time.sleep(3)
            before = len(load.acknowledged)
            started = time.monotonic()
            restart()
            restarted = time.monotonic()
            back = _wait_ready(server.url, restarted)
            print(f"restart took {restarted - started:.1f} s; service ready {back:.1f} s after")
        assert before > 0
        assert len(load.acknowledged) > before, "no booking was made after the restart"
        _check_invariants(postgres_url, server.url, load)
    finally:
        server.stop()
