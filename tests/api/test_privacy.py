"""Retention of personal data: ``workshop privacy purge`` forgets customers and vehicles of old
days, everywhere the service stored them, and keeps everything else.

The small day (26 November) gets an online booking (confirmed with an Idempotency-Key, whose
stored answer repeats the customer's name) and a walk-in; a later day (10 December) is loaded
beside it. Purging with 30 days kept, once the 26th is more than 30 days back, leaves no
customer name or number plate of the 26th in any table, while the 10th keeps its own, the plan
of the 26th stays as it was, and the purge is in the audit log.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from api.db.models import Base
from api.db.session import Database
from api.services.audit import Actor
from api.services.privacy import purge
from api.services.workshops import load_day_file
from tests.api.conftest import MORNING, SMALL_DAY
from tests.api.helpers import DATE, WORKSHOP

BASE = f"/workshops/{WORKSHOP}"
LATER = dt.date(2026, 12, 10)
DAY = {"from": "2026-11-26T07:30:00+08:00", "to": "2026-11-26T19:00:00+08:00"}
# The 26th is more than 30 days back from the 27th of December (UTC), not from the 26th.
PURGE_AT = dt.datetime(2026, 12, 27, 1, 0, tzinfo=dt.UTC)
NOT_YET = dt.datetime(2026, 12, 26, 23, 0, tzinfo=dt.UTC)


def _later_day(folder: Path) -> Path:
    """The small day on 10 December, with its own booking ids, customers and plates."""
    text = SMALL_DAY.read_text(encoding="utf-8").replace("day: 2026-11-26", f"day: {LATER}")
    text = text.replace("id: R10", "id: S10")
    count = iter(range(1, 100))
    text = re.sub(r"customer: [^,]+,", lambda _: f"customer: Later Customer {next(count)},", text)
    text = re.sub(r"vehicle: [^,]+,", lambda _: f"vehicle: LATER-{next(count)},", text)
    path = folder / "later-day.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _personal_data(path: Path) -> set[str]:
    """The customers and plates a day file names."""
    text = path.read_text(encoding="utf-8")
    found = re.findall(r"(?:customer|vehicle): ([^,]+),", text)
    return {f.strip() for f in found}


def _everything(db_url: str) -> str:
    """Every row of every table, as text (to search for personal data)."""
    db = Database(db_url)
    try:
        with db.engine.connect() as conn:
            return "\n".join(
                str(tuple(row))
                for table in Base.metadata.sorted_tables
                for row in conn.execute(table.select())
            )
    finally:
        db.dispose()


@pytest.fixture
def day_with_people(app_client: Any, tmp_path: Path) -> set[str]:
    """The small day with an online booking and a walk-in, and the later day beside it; the
    customers and plates of the 26th."""
    later = _later_day(tmp_path)
    load_day_file(app_client.app.state.context.db, later, replace=False, now=MORNING)
    offers = app_client.get(f"{BASE}/slots", params={"services": "TYRE", **DAY}).json()["slots"]
    hold = app_client.post(f"{BASE}/holds", json={"slot": offers[0]["slot"]}).json()
    confirmed = app_client.post(
        f"/holds/{hold['id']}/confirm",
        json={"customer": "Qian Online", "vehicle": "沪G77777"},
        headers={"Idempotency-Key": "confirm-1"},
    )
    assert confirmed.status_code == 201, confirmed.text
    walk_in = app_client.post(
        f"{BASE}/days/{DATE}/events",
        json={
            "kind": "walk-in",
            "services": ["TYRE"],
            "at": "2026-11-26T09:00:00+08:00",
            "customer": "Wu Walkin",
            "vehicle": "沪H88888",
            "method": "dispatch",
        },
    )
    assert walk_in.status_code == 201, walk_in.text
    return _personal_data(SMALL_DAY) | {"Qian Online", "沪G77777", "Wu Walkin", "沪H88888"}


def _bookings(client: Any, date: dt.date) -> list[dict[str, Any]]:
    answer = client.get(f"{BASE}/bookings", params={"date": date.isoformat()})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["bookings"]
    return found


def test_purge_forgets_old_days_everywhere_and_keeps_the_rest(
    app_client: Any, db_url: str, day_with_people: set[str]
) -> None:
    people = day_with_people
    stored = _everything(db_url)
    assert all(p in stored for p in people)  # the search below can find them
    plan = app_client.get(f"{BASE}/plans/{DATE}").json()
    before = _bookings(app_client, DATE)
    later = _bookings(app_client, LATER)

    result = purge(app_client.app.state.context.db, days=30, now=PURGE_AT, actor=Actor("dpo"))

    assert result.before == dt.date(2026, 11, 27)
    assert result.bookings == len(before) == 8  # six loaded, one online, one walk-in
    assert result.idempotency_answers == 1
    stored = _everything(db_url)
    assert [p for p in people if p in stored] == []
    after = _bookings(app_client, DATE)
    assert all(b["customer"] == "" and b["vehicle"] == "" for b in after)
    blank = {"customer": "", "vehicle": ""}
    assert after == [{**b, **blank} for b in before]  # ids, services, times, status kept
    assert _bookings(app_client, LATER) == later  # a later day keeps its people
    assert "Later Customer 1" in stored
    assert app_client.get(f"{BASE}/plans/{DATE}").json() == plan
    # One entry, naming who purged and what, and no person.
    db = app_client.app.state.context.db
    from api.services.audit import entries

    (entry,) = [e for e in entries(db, workshop_id=None, limit=100) if e["actor"] == "dpo"]
    assert entry["action"] == "privacy.purge"
    assert entry["detail"] == {
        "days": 30,
        "before": "2026-11-27",
        "bookings": 8,
        "idempotency_answers": 1,
    }
    # Purging again finds nothing left to forget.
    again = purge(db, days=30, now=PURGE_AT, actor=Actor("dpo"))
    assert (again.bookings, again.idempotency_answers) == (0, 0)


def test_a_day_exactly_n_days_back_is_kept(
    app_client: Any, db_url: str, day_with_people: set[str]
) -> None:
    result = purge(app_client.app.state.context.db, days=30, now=NOT_YET, actor=Actor("dpo"))
    assert result.before == DATE and result.bookings == 0
    stored = _everything(db_url)
    assert all(p in stored for p in day_with_people)
    assert all(b["customer"] for b in _bookings(app_client, DATE))


def test_the_command_purges_with_the_retention_setting(
    app_client: Any,
    db_url: str,
    day_with_people: set[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("api.cli._now", lambda: PURGE_AT)
    monkeypatch.delenv("WORKSHOP_RETENTION_DAYS", raising=False)
    assert main(["privacy", "purge", "--db", db_url]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.strip() == "error: give --days N or set WORKSHOP_RETENTION_DAYS"
    assert main(["privacy", "purge", "--days", "0", "--db", db_url]) == 2  # at least a day
    capsys.readouterr()
    assert all(p in _everything(db_url) for p in day_with_people)

    monkeypatch.setenv("WORKSHOP_RETENTION_DAYS", "30")
    assert main(["privacy", "purge", "--db", db_url]) == 0
    out, _ = capsys.readouterr()
    assert "anonymised 8 booking(s) of days before 2026-11-27" in out
    stored = _everything(db_url)
    assert [p for p in day_with_people if p in stored] == []
    assert "Later Customer 1" in stored
    # --days wins over the setting: 10 days back from the 27th reaches the 10th of December.
    monkeypatch.setattr("api.cli._now", lambda: PURGE_AT + dt.timedelta(days=1))
    assert main(["privacy", "purge", "--days", "10", "--db", db_url]) == 0
    assert "anonymised 6 booking(s)" in capsys.readouterr().out
    assert "Later Customer" not in _everything(db_url)
