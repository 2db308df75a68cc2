"""Apply the Alembic migrations shipped inside the package (``api/migrations``).

Run on start and by ``workshop db upgrade``. Several processes may start at once on one
PostgreSQL database, so the upgrade runs under an advisory lock; on SQLite the migration
transaction starts with ``BEGIN IMMEDIATE``, which serialises it the same way.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from api.db.session import Database

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_LOCK_ID = 7_355_608_101  # any constant shared by every process of this service


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(db: Database) -> str:
    """Bring the schema to the newest revision; return that revision."""
    config = _config()
    with db.write_engine.connect() as conn:
        if not db.is_sqlite:
            conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _LOCK_ID})
            conn.commit()
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
        finally:
            if not db.is_sqlite:
                conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _LOCK_ID})
                conn.commit()
    return head()


def head() -> str:
    """The newest revision shipped with the package."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    if revision is None:
        raise RuntimeError("no migrations found in the package")
    return revision


def current(db: Database) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
