"""Hold+confirm throughput with concurrent clients against server processes on PostgreSQL.

A fresh database is made on the PostgreSQL server named by ``--db`` (default
``WORKSHOP_TEST_POSTGRES_URL``, else the local ``test`` database's server) and dropped at the
end. The city-dealer day is loaded as tomorrow's (the servers run on the real clock, so the
days booked into must lie ahead), ``--servers`` ``workshop serve`` processes start on it, and
``--clients`` threads each loop for ``--seconds``: ask for slots (one or two random services,
on one of the ``--days`` days from the loaded one, as a customer looks at one day), hold a random
one of its first ten offers, confirm it. Afterwards the stored
schedule is searched for double-bookings (overlapping reserved intervals of one technician or
bay) and every day's plan is re-checked with ``check_plan``.

    .venv/bin/python benchmarks/service_throughput.py --seconds 30
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
OVERLAPS = """
SELECT count(*) FROM reserved_intervals a JOIN reserved_intervals b
  ON a.resource = b.resource AND a.id < b.id
 AND tstzrange(a.start_at, a.end_at, '[)') && tstzrange(b.start_at, b.end_at, '[)')
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(url: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _port()
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--db", url, "--port", str(port)],
        # Rate limits raised: the table measures the service, not the per-client policy.
        env={
            **os.environ,
            "WORKSHOP_SLOT_SEARCHES_PER_MINUTE": "100000",
            "WORKSHOP_HOLDS_PER_MINUTE": "100000",
        },
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start; see {log}")


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("WORKSHOP_TEST_POSTGRES_URL", DEFAULT_DB))
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--days", type=int, default=14, help="days the clients book into")
    parser.add_argument("--day", type=Path, default=ROOT / "scenarios" / "city-dealer.yaml")
    args = parser.parse_args()

    from api.db.migrate import upgrade
    from api.db.session import Database
    from api.services.audit import Actor
    from api.services.clients import add_client
    from api.services.plans import plan_of_schedule
    from api.services.schedule import load_schedule
    from api.services.workshops import store_day
    from scheduler.clock import to_iso, zone
    from scheduler.io import load_day

    admin_url = make_url(args.db)
    name = f"workshop_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))  # generated name, no user data
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        db = Database(url)
        upgrade(db)
        day = load_day(args.day)
        tomorrow = dt.datetime.now(zone(day.workshop.timezone)).date() + dt.timedelta(days=1)
        day = dataclasses.replace(day, date=tomorrow)
        store_day(db, day, replace=False, now=dt.datetime.now(dt.UTC))
        keys = [  # one booking system per client, as in production
            add_client(
                db,
                name=f"booking-system-{i}",
                role="booking",
                workshops=[day.workshop.id],
                now=dt.datetime.now(dt.UTC),
                actor=Actor("benchmark"),
            ).key
            for i in range(args.clients)
        ]
        logs = Path(tempfile.mkdtemp(prefix="throughput-"))
        bases = []
        for i in range(args.servers):
            process, base = _serve(url, logs / f"server-{i}.log")
            processes.append(process)
            bases.append(base)
        tz = zone(day.workshop.timezone)
        windows = [
            {
                "from": to_iso(day.date + dt.timedelta(days=d), tz, day.workshop.open),
                "to": to_iso(day.date + dt.timedelta(days=d), tz, day.workshop.close),
            }
            for d in range(args.days)
        ]
        codes = sorted(day.workshop.services)
        outcomes: Counter[str] = Counter()
        hold_ms: list[float] = []
        confirm_ms: list[float] = []
        lock = threading.Lock()
        deadline = time.monotonic() + args.seconds

        def count(outcome: str) -> None:
            with lock:
                outcomes[outcome] += 1

        def client(seed: int) -> None:
            rng = random.Random(seed)
            with httpx.Client(
                base_url=bases[seed % len(bases)],
                headers={"Authorization": f"Bearer {keys[seed]}"},
                timeout=30,
            ) as http:
                while time.monotonic() < deadline:
                    try:
                        services = ",".join(rng.sample(codes, rng.choice([1, 1, 2])))
                        r = http.get(
                            f"/workshops/{day.workshop.id}/slots",
                            params={"services": services, **rng.choice(windows)},
                        )
                        if r.status_code != 200:
                            count("failed (other than 409)")
                            continue
                        offers = r.json()["slots"]
                        if not offers:
                            count("no offer")
                            continue
                        offer = rng.choice(offers[:10])
                        t0 = time.perf_counter()
                        h = http.post(
                            f"/workshops/{day.workshop.id}/holds",
                            json={"slot": offer["slot"]},
                            headers={"Idempotency-Key": uuid.uuid4().hex},
                        )
                        t1 = time.perf_counter()
                        if h.status_code == 409:
                            count("hold 409")
                            continue
                        if h.status_code != 201:
                            count("failed (other than 409)")
                            continue
                        c = http.post(
                            f"/holds/{h.json()['id']}/confirm",
                            json={"customer": f"bench-{seed}"},
                            headers={"Idempotency-Key": uuid.uuid4().hex},
                        )
                        t2 = time.perf_counter()
                        with lock:
                            hold_ms.append((t1 - t0) * 1000)
                            if c.status_code == 201:
                                outcomes["hold+confirm ok"] += 1
                                confirm_ms.append((t2 - t1) * 1000)
                            elif c.status_code == 409:
                                outcomes["confirm 409"] += 1
                            else:
                                outcomes["failed (other than 409)"] += 1
                    except httpx.HTTPError:
                        count("failed (other than 409)")

        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started

        with db.engine.connect() as conn:
            double = int(conn.execute(text(OVERLAPS)).scalar_one())
        invalid = 0
        from api.db.models import DayRow

        with db.read() as session:
            for row in session.query(DayRow).all():
                try:
                    plan_of_schedule(session, load_schedule(session, row, dt.datetime.now(dt.UTC)))
                except RuntimeError:
                    invalid += 1
        db.dispose()
        ok = outcomes["hold+confirm ok"]
        rows = [
            ("servers / clients", f"{args.servers} / {args.clients}"),
            ("seconds", f"{elapsed:.1f}"),
            ("hold+confirm completed", str(ok)),
            ("throughput (bookings/s)", f"{ok / elapsed:.1f}"),
            ("hold p50 / p95 ms", _pcts(hold_ms)),
            ("confirm p50 / p95 ms", _pcts(confirm_ms)),
            ("hold 409 (slot taken)", str(outcomes["hold 409"])),
            ("confirm 409", str(outcomes["confirm 409"])),
            ("queries with no offer", str(outcomes["no offer"])),
            ("failed requests other than 409", str(outcomes["failed (other than 409)"])),
            ("double-bookings (overlapping intervals)", str(double)),
            ("day plans failing check_plan", str(invalid)),
        ]
        print(f"\nHold+confirm throughput on PostgreSQL ({args.day.name})")
        width = max(len(k) for k, _ in rows)
        for key, value in rows:
            print(f"{key:<{width}} | {value:>14}")
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _pcts(values: list[float]) -> str:
    if not values:
        return "-"
    values = sorted(values)
    return f"{statistics.median(values):.0f} / {values[int(0.95 * len(values)) - 1]:.0f}"


if __name__ == "__main__":
    main()
