"""Engines, sessions and write transactions for SQLite and PostgreSQL.

Reads run in ordinary transactions. Every write runs through ``Database.write``, which retries
what a database may legitimately refuse under contention (PostgreSQL serialization failures and
deadlocks, a SQLite file briefly locked, a connection lost in a restart). On SQLite each write
transaction starts with ``BEGIN IMMEDIATE``: the write lock is taken before anything is read,
so the overlap checks that follow see a schedule no other writer can change under them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
log = logging.getLogger("workshop.db")

_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03", "57P01", "08006", "08003", "08001"}


def _sqlite_engine(url: str, begin: str) -> Engine:
    """A SQLite engine whose transactions start with ``begin`` (``BEGIN`` or ``BEGIN IMMEDIATE``).

    pysqlite's own transaction handling is switched off so that our BEGIN is the one that runs.
    """
    engine = create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False},
        pool_pre_ping=True,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE code of a database error, when the driver gives one."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_retryable(exc: BaseException) -> bool:
    """Whether running the same transaction again may succeed."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    code = sqlstate(exc)
    if code in _RETRYABLE_SQLSTATES:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


class Database:
    """The service's database: engines, session factories and retried write transactions."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, "BEGIN")
            self.write_engine = _sqlite_engine(url, "BEGIN IMMEDIATE")
        else:
            self.engine = create_engine(
                url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size
            )
            self.write_engine = self.engine
        self._reads = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(self.write_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; its transaction is rolled back at the end."""
        with self._reads() as session, session.begin():
            yield session

    def read_with(self, work: Callable[[Session], T], *, attempts: int = 3) -> T:
        """Run a read-only ``work`` in a read transaction, again if the connection drops."""
        for attempt in range(1, attempts + 1):
            try:
                with self.read() as session:
                    return work(session)
            except DBAPIError as exc:
                if attempt == attempts or not is_retryable(exc):
                    raise
                log.info("retrying a read (%s): %s", attempt, sqlstate(exc))
        raise AssertionError("unreachable")

    def write(self, work: Callable[[Session], T], *, attempts: int = 8) -> T:
        """Run ``work`` in one write transaction and commit; retry transient refusals.

        ``work`` may run more than once, so it must not have effects outside the session.
        """
        for attempt in range(1, attempts + 1):
            try:
                with self._writes() as session, session.begin():
                    return work(session)
            except DBAPIError as exc:
                if attempt == attempts or not is_retryable(exc):
                    raise
                log.info("retrying a write transaction (%s): %s", attempt, sqlstate(exc))
                time.sleep(min(0.5, 0.01 * 2**attempt))
        raise AssertionError("unreachable")

    def ping(self) -> None:
        """Run ``SELECT 1``; raises when the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()
