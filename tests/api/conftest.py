"""Fixtures for the service tests: databases, a manual clock and an HTTP client.

Every test that takes ``db_url`` runs on a fresh SQLite file, and again on PostgreSQL when
``WORKSHOP_TEST_POSTGRES_URL`` is set (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
PostgreSQL runs use a database made for this test session (dropped at the end), emptied before
each test, so runs never see each other's rows.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DATA = Path(__file__).parent / "data"
SMALL_DAY = DATA / "small-day.yaml"
POSTGRES_ENV = "WORKSHOP_TEST_POSTGRES_URL"
# 07:00 local (Asia/Shanghai) on the small day: before opening, nothing has started.
MORNING = dt.datetime(2026, 11, 25, 23, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of its own for this test session (skips without the env var)."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set; PostgreSQL tests need a server to run against")
    url = make_url(base)
    name = f"workshop_test_{uuid.uuid4().hex[:10]}"
    # pre_ping: a slow test restarts the server, and the teardown must not trip over that.
    admin = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))  # a generated name, no user data
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
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


def _empty_postgres(url: str) -> None:
    from api.db.migrate import upgrade
    from api.db.session import Database

    db = Database(url)
    try:
        upgrade(db)
        with db.engine.begin() as conn:
            tables = conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            ).scalars()
            names = ", ".join(f'"{t}"' for t in tables)
            if names:
                conn.execute(text(f"TRUNCATE {names} CASCADE"))
    finally:
        db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL: a SQLite file, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'workshop.db'}"
    url: str = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def clock() -> Any:
    """A manual clock at 07:00 on the small day (before opening)."""
    from api.clock import ManualClock

    return ManualClock(MORNING)


@pytest.fixture(scope="session")
def small_day_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the small day as loaded at MORNING, copied for each test that
    needs it (loading costs more than copying, and every such test starts from it)."""
    from api.db.migrate import upgrade
    from api.db.session import Database
    from api.services.workshops import load_day_file

    path = tmp_path_factory.mktemp("template") / "small-day.db"
    db = Database(f"sqlite:///{path}")
    try:
        upgrade(db)
        load_day_file(db, SMALL_DAY, replace=False, now=MORNING)
    finally:
        db.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
def app_client(db_url: str, clock: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A TestClient on a fresh database holding the small day, with a manual clock, sending
    the key of a manager client (``test-manager``, every workshop) with every request, as a
    deployed service would need (``local_client`` tests the local trial mode)."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.services.workshops import load_day_file
    from api.settings import Settings
    from tests.api.helpers import add_key

    if db_url.startswith("sqlite"):
        template: Path = request.getfixturevalue("small_day_sqlite")
        shutil.copyfile(template, db_url.removeprefix("sqlite:///"))
    app = create_app(Settings(database_url=db_url, solver_processes=0), clock=clock)
    if not db_url.startswith("sqlite"):
        load_day_file(app.state.context.db, SMALL_DAY, replace=False, now=clock.now())
    key = add_key(app, "test-manager", "manager")
    with TestClient(
        app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {key}"}
    ) as client:
        yield client


@pytest.fixture
def local_client(tmp_path: Path, clock: Any, small_day_sqlite: Path) -> Iterator[Any]:
    """A TestClient from 127.0.0.1 on a copy of the small day with no API clients: the local
    trial mode, where requests need no key."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings

    path = tmp_path / "local.db"
    shutil.copyfile(small_day_sqlite, path)
    app = create_app(Settings(database_url=f"sqlite:///{path}", solver_processes=0), clock=clock)
    with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 50000)) as client:
        yield client
