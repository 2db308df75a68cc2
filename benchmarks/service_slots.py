"""Slot search latency: p50/p95/p99 over 1,000 GET /slots queries per day, through the HTTP app.

Each day file is loaded into a fresh database (SQLite by default, or ``--db`` for PostgreSQL,
whose database must be empty), then 1,000 queries ask for a random one or two services of the
catalogue, drop-off or waiter, over the whole day (every 15 minutes of opening hours), through
FastAPI's TestClient so routing, validation and serialisation are counted. The clock stands at
06:00 local so every candidate of the day is still in the future. Nothing is booked between
queries, so each day's schedule comes from the per-process cache; ``--cold`` empties every
cache (schedules and parsed workshops) before every query, which is the cost of the first
query after a change to the day.

    .venv/bin/python benchmarks/service_slots.py
    .venv/bin/python benchmarks/service_slots.py --queries 1000 --db postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAYS = [
    (ROOT / "scenarios" / "city-dealer.yaml", 50.0),
    (ROOT / "scenarios" / "ev-dealer.yaml", 200.0),
]


def bench(path: Path, queries: int, db_url: str | None, seed: int, cold: bool) -> dict[str, object]:
    """Load ``path`` and time ``queries`` slot searches; return one table row."""
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

    from api.clock import ManualClock
    from api.main import create_app
    from api.services.audit import Actor
    from api.services.booking import clear_caches
    from api.services.clients import add_client
    from api.services.workshops import store_day
    from api.settings import Settings
    from scheduler.clock import to_datetime, to_iso, zone
    from scheduler.io import load_day

    day = load_day(path)
    tz = zone(day.workshop.timezone)
    clock = ManualClock(to_datetime(day.date, tz, 6 * 60).astimezone(dt.UTC))
    folder = tempfile.mkdtemp(prefix="slots-bench-")
    url = db_url or f"sqlite:///{folder}/bench.db"
    # A booking system's key, as in production; its rate limit raised so that the table
    # measures the search, not the limit.
    settings = Settings(database_url=url, solver_processes=0, slot_searches_per_minute=100_000)
    app = create_app(settings, clock=clock)
    loaded = store_day(app.state.context.db, day, replace=True, now=clock.now())
    key = add_client(
        app.state.context.db,
        name=f"booking-system-{day.workshop.id}",
        role="booking",
        workshops=[day.workshop.id],
        now=clock.now(),
        actor=Actor("benchmark"),
    ).key
    rng = random.Random(seed)
    codes = sorted(day.workshop.services)
    window = {
        "from": to_iso(day.date, tz, day.workshop.open),
        "to": to_iso(day.date, tz, day.workshop.close),
    }
    timings: list[float] = []
    offers = 0
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as client:
        for i in range(queries + 20):
            services = rng.sample(codes, rng.choice([1, 1, 2]))
            params = {"services": ",".join(services), "waiting": rng.random() < 0.3, **window}
            if cold:  # as if the day had just changed: read and rebuild everything
                clear_caches(app.state.context)
            start = time.perf_counter()
            r = client.get(f"/workshops/{day.workshop.id}/slots", params=params)
            elapsed = (time.perf_counter() - start) * 1000
            assert r.status_code == 200, r.text
            if i >= 20:  # the first queries warm caches and connections
                timings.append(elapsed)
                offers += len(r.json()["slots"])
    timings.sort()
    return {
        "day": path.name,
        "bookings": loaded.bookings,
        "placed": loaded.scheduled,
        "queries": queries,
        "offers/query": offers / queries,
        "p50 ms": statistics.median(timings),
        "p95 ms": timings[int(0.95 * len(timings)) - 1],
        "p99 ms": timings[int(0.99 * len(timings)) - 1],
        "max ms": timings[-1],
    }


def main() -> None:
    """Run every day and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--db", default=None, help="database URL (default: a SQLite file)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--cold",
        action="store_true",
        help="empty every per-process cache before each query (every query a miss)",
    )
    args = parser.parse_args()
    rows = []
    for path, target in DAYS:
        if not path.exists():
            print(f"skipping {path.name}: not found")
            continue
        row = bench(path, args.queries, args.db, args.seed, args.cold)
        row["target p95"] = target
        row["met"] = "yes" if float(row["p95 ms"]) < target else "NO"  # type: ignore[arg-type]
        rows.append(row)
    backend = "PostgreSQL" if args.db and args.db.startswith("postgresql") else "SQLite"
    cache = "every cache emptied before each query" if args.cold else "caches warm"
    print(f"\nSlot search over HTTP ({backend}, {cache}), {args.queries} queries per day")
    header = list(rows[0])
    print(" | ".join(f"{h:>12}" for h in header))
    for row in rows:
        cells = []
        for h in header:
            v = row[h]
            cells.append(f"{v:>12.1f}" if isinstance(v, float) else f"{v!s:>12}")
        print(" | ".join(cells))


if __name__ == "__main__":
    main()
