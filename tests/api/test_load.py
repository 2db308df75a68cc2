"""Storing a day file: the stored day rebuilds exactly, and the CLI reports in one line."""

from __future__ import annotations

import datetime as dt

import pytest

from api.cli import main
from api.db.migrate import current, head, upgrade
from api.db.session import Database
from api.services.daydata import day_from_dict, day_to_dict
from api.services.plans import current_plan
from api.services.schedule import find_day, load_schedule
from api.services.workshops import load_day_file
from scheduler.checker import check_plan
from scheduler.io import load_day
from scheduler.planfile import plan_from_dict
from tests.api.conftest import MORNING, SMALL_DAY


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


def test_load_twice_needs_replace(db_url: str) -> None:
    db = Database(db_url)
    upgrade(db)
    load_day_file(db, SMALL_DAY, replace=False, now=MORNING)
    with pytest.raises(Exception, match="--replace"):
        load_day_file(db, SMALL_DAY, replace=False, now=MORNING)
    assert load_day_file(db, SMALL_DAY, replace=True, now=MORNING).plan_version == 2
    db.dispose()


def test_cli_load_and_upgrade(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["db", "upgrade", "--db", url]) == 0
    assert main(["load", str(SMALL_DAY), "--db", url]) == 0
    assert "6 bookings" in capsys.readouterr().out
    assert main(["load", str(SMALL_DAY), "--db", url]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "--replace" in err[0]
    assert main(["load", str(tmp_path / "missing.yaml"), "--db", url]) == 2


def test_dates_are_local() -> None:
    assert MORNING.astimezone(dt.timezone(dt.timedelta(hours=8))).hour == 7
