"""Helpers shared by the service tests: reading the stored day back and checking it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from api.db.session import Database
from api.services.audit import Actor
from api.services.clients import KEY
from api.services.schedule import find_day, load_schedule
from api.services.tokens import open_token
from scheduler.checker import check_plan
from scheduler.domain import Day
from scheduler.planfile import plan_from_dict

DATE = dt.date(2026, 11, 26)
WORKSHOP = "city-motors"


class LiveDay:
    """The small day moved to a week from today, for tests against server processes.

    Those run on the machine's clock, so the day file's fixed date would fall into the past
    (and every slot with it) as the calendar moves on; in-process tests use a fixed clock.
    """

    def __init__(self, source: Path) -> None:
        self.source = source
        self.now = dt.datetime.now(dt.UTC)
        self.date = self.now.date() + dt.timedelta(days=7)
        self.dates = [self.date + dt.timedelta(days=k) for k in range(3)]
        # The window the tests ask for slots in: the moved day and the two after it.
        self.window = {"from": local("07:30", self.date), "to": local("19:00", self.dates[-1])}

    def write(self, folder: Path) -> Path:
        """The day file with its date moved, written into ``folder``."""
        path = folder / f"live-{self.source.name}"
        text = self.source.read_text()
        assert f"day: {DATE.isoformat()}" in text
        path.write_text(text.replace(f"day: {DATE.isoformat()}", f"day: {self.date}"))
        return path


def key_secret(key: str) -> str:
    """The secret part of a client key (it may itself contain underscores)."""
    match = KEY.fullmatch(key)
    assert match is not None, key
    return match.group(2)


def local(hhmm: str, date: dt.date = DATE) -> str:
    """``HH:MM`` on ``date`` in the small day's zone (Asia/Shanghai, +08:00), as ISO 8601."""
    return f"{date.isoformat()}T{hhmm}:00+08:00"


def witness(client: Any, token: str) -> list[dict[str, Any]]:
    """The insertion behind a slot offer, read out of its token with the key of ``client``'s
    app (tests only: to clients the token is sealed)."""
    payload = json.loads(open_token(token, client.app.state.context.token_key))
    keys = ("service", "operation", "technician", "bay", "start", "end")
    return [dict(zip(keys, item, strict=True)) for item in payload["x"]]


def add_key(app_or_db: Any, name: str, role: str, workshops: Sequence[str] = ()) -> str:
    """Add an API client to the app's (or a) database; its key."""
    from api.services.clients import add_client

    db = app_or_db.state.context.db if hasattr(app_or_db, "state") else app_or_db
    made = add_client(
        db,
        name=name,
        role=role,
        workshops=list(workshops),
        now=dt.datetime.now(dt.UTC),
        actor=Actor("tests"),
    )
    return made.key


def bearer(key: str) -> dict[str, str]:
    """The header that sends ``key``."""
    return {"Authorization": f"Bearer {key}"}


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
    by: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    for resource, start, end in rows:
        by.setdefault(resource, []).append((_instant(start), _instant(end)))
    count = 0
    for spans in by.values():
        spans.sort()
        latest: dt.datetime | None = None
        for start, end in spans:
            if latest is not None and start < latest:
                count += 1
            latest = end if latest is None else max(latest, end)
    return count


def _instant(value: Any) -> dt.datetime:
    """A stored time as an aware UTC datetime (SQLite hands back text or naive UTC)."""
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, dt.datetime)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
