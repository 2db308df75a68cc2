"""Engines, sessions and write transactions for SQLite and PostgreSQL.

Reads run in snapshot transactions: a day's bookings and its assignments are read in separate
statements, and they must come from one moment (PostgreSQL runs reads at REPEATABLE READ; a
SQLite read transaction is a snapshot from its first statement). Every write runs through
``Database.write``, which retries what a database may legitimately refuse under contention
(PostgreSQL serialization failures and deadlocks, a SQLite file briefly locked, a connection
lost in a restart). On SQLite each write transaction starts with ``BEGIN IMMEDIATE``: the write
lock is taken before anything is read, so the overlap checks that follow see a schedule no
other writer can change under them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
log = logging.getLogger("workshop.db")

# Serialization failure, deadlock, lock not available, the server shutting down, crashed or
# still starting, and lost or refused connections.
_RETRYABLE_SQLSTATES = {
    "40001",
    "40P01",
    "55P03",
    "57P01",
    "57P02",
    "57P03",
    "08000",
    "08001",
    "08003",
    "08004",
    "08006",
}
UNIQUE_VIOLATION = "23505"
EXCLUSION_VIOLATION = "23P01"  # PostgreSQL's no_double_booking constraint refused an overlap
_SQLITE_UNIQUE = {"SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"}


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


def is_unique_violation(exc: BaseException) -> bool:
    """Whether ``exc`` is a duplicate primary or unique key, by the driver's error code."""
    if not isinstance(exc, IntegrityError):
        return False
    if sqlstate(exc) == UNIQUE_VIOLATION:
        return True
    return getattr(exc.orig, "sqlite_errorname", None) in _SQLITE_UNIQUE


def is_exclusion_violation(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL refusing two overlapping reservations of one resource."""
    return isinstance(exc, IntegrityError) and sqlstate(exc) == EXCLUSION_VIOLATION


def is_retryable(exc: BaseException) -> bool:
    """Whether running the same transaction again may succeed."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    code = sqlstate(exc)
    if code in _RETRYABLE_SQLSTATES:
        return True
    if not isinstance(exc, OperationalError):
        return False
    if type(exc.orig).__module__.startswith("psycopg") and code is None:
        return True  # no server to talk to at all (refused, reset): it may be restarting
    return "database is locked" in str(exc)


class Database:
    """The service's database: engines, session factories and retried write transactions."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, "BEGIN")
            self.write_engine = _sqlite_engine(url, "BEGIN IMMEDIATE")
            read_engine = self.engine
        else:
            self.engine = create_engine(
                url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size
            )
            self.write_engine = self.engine
            # The same pool; each read checks a connection out at REPEATABLE READ, so all its
            # statements see one snapshot (a read-only transaction never fails to serialise).
            read_engine = self.engine.execution_options(isolation_level="REPEATABLE READ")
        self._reads = sessionmaker(read_engine, expire_on_commit=False)
        self._writes = sessionmaker(self.write_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading from one snapshot.

        Its transaction is committed at the end (it wrote nothing), not rolled back, so the
        objects read stay loaded for use after the block.
        """
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

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self.write_engine is not self.engine:
            self.write_engine.dispose()
