"""Storing a day file: the stored day rebuilds exactly, and the CLI reports in one line."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from api.cli import main
from api.db.migrate import current, head, upgrade
from api.db.session import Database
from api.services.daydata import day_from_dict, day_to_dict
from api.services.errors import Conflict
from api.services.plans import current_plan
from api.services.schedule import find_day, latest_plan, load_schedule
from api.services.workshops import load_day_file, store_day
from scheduler.checker import check_plan
from scheduler.domain import Day
from scheduler.io import load_day
from scheduler.planfile import plan_from_dict
from tests.api.conftest import MORNING, SMALL_DAY
from tests.api.helpers import local


def test_day_dict_round_trip() -> None:
    day = load_day(SMALL_DAY)
    assert day_from_dict(day_to_dict(day)) == day


def test_load_stores_the_day_exactly_and_plans_it(db_url: str) -> None:
    db = Database(db_url)
    assert upgrade(db) == head() == current(db)
    result = load_day_file(db, SMALL_DAY, replace=False, now=MORNING)
    assert (result.bookings, result.scheduled, result.plan_version) == (6, 6, 1)
    day = load_day(SMALL_DAY)
    with db.read() as session:
        row = find_day(session, "city-motors", day.date)
        assert row is not None
        assert load_schedule(session, row, MORNING).day == day
    served = current_plan(db, "city-motors", day.date, MORNING)
    assert check_plan(day, plan_from_dict(day, served.data)) == []
    db.dispose()


def _changed_day() -> Day:
    """The small day with one drop-off arriving five minutes later."""
    day = load_day(SMALL_DAY)
    moved = dataclasses.replace(day.bookings[1], arrival=day.bookings[1].arrival + 5)
    return dataclasses.replace(day, bookings=(day.bookings[0], moved, *day.bookings[2:]))


def test_loading_the_same_file_again_answers_as_before_and_a_changed_one_needs_replace(
    db_url: str,
) -> None:
    db = Database(db_url)
    upgrade(db)
    first = load_day_file(db, SMALL_DAY, replace=False, now=MORNING)
    # A retry (the first answer was lost, a script ran twice) changes nothing.
    assert load_day_file(db, SMALL_DAY, replace=False, now=MORNING) == first
    with db.read() as session:
        row = find_day(session, "city-motors", first.date)
        assert row is not None
        assert latest_plan(session, row.id).version == 1  # type: ignore[union-attr]
    with pytest.raises(Conflict, match="--replace"):
        store_day(db, _changed_day(), replace=False, now=MORNING)
    assert store_day(db, _changed_day(), replace=True, now=MORNING).plan_version == 2
    db.dispose()


def test_cli_load_and_upgrade(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["db", "upgrade", "--db", url]) == 0
    assert main(["load", str(SMALL_DAY), "--db", url]) == 0
    assert "6 bookings" in capsys.readouterr().out
    assert main(["load", str(SMALL_DAY), "--db", url]) == 0
    assert "6 bookings" in capsys.readouterr().out
    changed = tmp_path / "changed.yaml"
    changed.write_text(
        SMALL_DAY.read_text(encoding="utf-8").replace('arrival: "08:15"', 'arrival: "08:20"'),
        encoding="utf-8",
    )
    assert main(["load", str(changed), "--db", url]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "--replace" in err[0]
    assert main(["load", str(tmp_path / "missing.yaml"), "--db", url]) == 2


def _day_with_online_booking_and_event(db_url: str) -> None:
    """The small day, plus one booking made online and one walk-in posted as a day event."""
    from fastapi.testclient import TestClient

    from api.clock import ManualClock
    from api.main import create_app
    from api.settings import Settings

    app = create_app(Settings(database_url=db_url, solver_processes=0), clock=ManualClock(MORNING))
    load_day_file(app.state.context.db, SMALL_DAY, replace=False, now=MORNING)
    with TestClient(app, client=("127.0.0.1", 50000)) as client:  # the local trial mode
        base = "/workshops/city-motors"
        offer = client.get(f"{base}/slots", params={"services": "TYRE"}).json()["slots"][0]
        hold = client.post(f"{base}/holds", json={"slot": offer["slot"]}).json()
        assert client.post(f"/holds/{hold['id']}/confirm", json={"customer": "Web"}).is_success
        walk_in = {
            "kind": "walk-in",
            "services": ["TYRE"],
            "at": local("09:00"),
            "method": "dispatch",
        }
        assert client.post(f"{base}/days/2026-11-26/events", json=walk_in).is_success


def test_replace_refuses_to_drop_online_bookings_and_events(db_url: str) -> None:
    _day_with_online_booking_and_event(db_url)
    db = Database(db_url)
    try:
        # The same file again is no retry once the day has moved on.
        with pytest.raises(Conflict, match="--replace"):
            load_day_file(db, SMALL_DAY, replace=False, now=MORNING)
        with pytest.raises(Conflict) as refused:
            load_day_file(db, SMALL_DAY, replace=True, now=MORNING)
        detail = refused.value.detail
        assert "1 online booking" in detail and "1 walk-in" in detail
        assert "1 day event" in detail and "--discard-online-bookings" in detail
        with db.read() as session:
            row = find_day(session, "city-motors", dt.date(2026, 11, 26))
            assert row is not None
            assert len(load_schedule(session, row, MORNING).day.bookings) == 8
        result = load_day_file(db, SMALL_DAY, replace=True, discard_online=True, now=MORNING)
        assert result.bookings == 6
        with db.read() as session:
            row = find_day(session, "city-motors", dt.date(2026, 11, 26))
            assert row is not None
            assert load_schedule(session, row, MORNING).day == load_day(SMALL_DAY)
    finally:
        db.dispose()


def test_cli_replace_says_what_would_be_lost(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    _day_with_online_booking_and_event(url)
    capsys.readouterr()
    assert main(["load", str(SMALL_DAY), "--db", url, "--replace"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:"), err
    assert "1 online booking" in err[0] and "--discard-online-bookings" in err[0]
    assert main(["load", str(SMALL_DAY), "--db", url, "--discard-online-bookings"]) == 0
    assert "6 bookings" in capsys.readouterr().out
