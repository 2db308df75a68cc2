"""Helpers shared by the service tests: reading the stored day back and checking it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from api.db.session import Database
from api.services.schedule import find_day, load_schedule
from scheduler.checker import check_plan
from scheduler.domain import Day
from scheduler.planfile import plan_from_dict

DATE = dt.date(2026, 11, 26)
WORKSHOP = "city-motors"


def stored_day(url: str, now: dt.datetime, date: dt.date = DATE) -> Day:
    """The day as stored now (booked bookings only)."""
    db = Database(url)
    try:
        with db.read() as session:
            row = find_day(session, WORKSHOP, date)
            assert row is not None
            return load_schedule(session, row, now).day
    finally:
        db.dispose()


def assert_valid_plan(day: Day, data: dict[str, Any]) -> None:
    """The plan-file JSON passes the checker against ``day``."""
    plan = plan_from_dict(day, data)
    assert check_plan(day, plan) == [], check_plan(day, plan)[:3]


def overlaps(url: str) -> int:
    """Pairs of reserved intervals that overlap on one resource (must be 0)."""
    from sqlalchemy import text

    db = Database(url)
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT resource, start_at, end_at FROM reserved_intervals")
            ).all()
    finally:
        db.dispose()
    by: dict[str, list[tuple[Any, Any]]] = {}
    for resource, start, end in rows:
        by.setdefault(resource, []).append((str(start)[:19], str(end)[:19]))
    count = 0
    for spans in by.values():
        spans.sort()
        latest = ""
        for start, end in spans:
            if start < latest:
                count += 1
            latest = max(latest, end)
    return count
