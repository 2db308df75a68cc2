"""Fixtures for the page tests: an app over a fresh SQLite day, a manual clock, a client.

The fast tests use the small service day (``tests/api/data/small-day.yaml``: City Motors with
four bays, three technicians and six bookings); the browser tests use the sample day
``scenarios/city-dealer.yaml`` and start their own server (see ``test_browser.py``).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMALL_DAY = ROOT / "tests" / "api" / "data" / "small-day.yaml"
CITY_DEALER = ROOT / "scenarios" / "city-dealer.yaml"
WORKSHOP = "city-motors"
DATE = dt.date(2026, 11, 26)
BOARD = f"/board/{WORKSHOP}/{DATE.isoformat()}"
HTML = {"Accept": "text/html,application/xhtml+xml"}
# 10:00 local (Asia/Shanghai) on the day: some work has started, most has not.
TEN_LOCAL = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> Any:
    """A manual clock at 10:00 on the small day."""
    from api.clock import ManualClock

    return ManualClock(TEN_LOCAL)


@pytest.fixture(scope="session")
def small_day_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the small day, made once; each test works on its own copy."""
    from api.db.migrate import upgrade
    from api.db.session import Database
    from api.services.workshops import load_day_file

    path = tmp_path_factory.mktemp("pages") / "small-day.db"
    db = Database(f"sqlite:///{path}")
    try:
        upgrade(db)
        load_day_file(db, SMALL_DAY, replace=False, now=TEN_LOCAL)
    finally:
        db.dispose()
    return path


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def board_client(app: Any, **kwargs: Any) -> Any:
    """A TestClient that posts forms with the session's CSRF token, as the board's own forms
    do (``post(..., csrf=False)`` sends none)."""
    from fastapi.testclient import TestClient

    class BoardClient(TestClient):
        def csrf_token(self) -> str:
            """The token of this client's session (its first page makes the session)."""
            found = CSRF.search(self.get("/signin", headers=HTML).text)
            assert found, "the sign-in page has no CSRF token"
            return found.group(1)

        def post(self, url: Any, *args: Any, csrf: bool = True, **kw: Any) -> Any:  # type: ignore[override]
            data = kw.get("data")
            if csrf and isinstance(data, dict) and "csrf_token" not in data:
                kw["data"] = {**data, "csrf_token": self.csrf_token()}
            return super().post(url, *args, **kw)

    return BoardClient(app, raise_server_exceptions=False, **kwargs)


@pytest.fixture
def client(tmp_path: Path, clock: Any, small_day_db: Path) -> Iterator[Any]:
    """A TestClient of the whole app on a fresh copy of the small day's database, from
    127.0.0.1 with no API clients (the local trial mode: pages and API need no key)."""
    from api.main import create_app
    from api.settings import Settings

    path = tmp_path / "pages.db"
    shutil.copyfile(small_day_db, path)
    app = create_app(Settings(database_url=f"sqlite:///{path}", solver_processes=0), clock=clock)
    with board_client(app, client=("127.0.0.1", 50000)) as c:
        yield c
