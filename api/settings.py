"""Settings of the service, read from the environment (``WORKSHOP_*``) by pydantic-settings.

Nothing configured gives a working service: a SQLite file ``workshop.db`` in the working folder,
holds that last five minutes, idempotency keys kept for a day and a solver pool of one worker
process. Until an API client is added (``workshop clients add``) the service runs in local trial
mode: requests from this machine need no key. The abuse limits below apply to API clients.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///workshop.db"


class Settings(BaseSettings):
    """Everything the service can be told from outside; each field is ``WORKSHOP_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="WORKSHOP_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///file.db or postgresql+psycopg://user@host/db",
    )
    hold_minutes: float = Field(default=5.0, gt=0, description="How long a hold keeps its slot.")
    slot_step_minutes: int = Field(default=15, ge=1, le=240, description="Minutes between offers.")
    max_slot_days: int = Field(
        default=14, ge=1, le=62, description="Longest from/to range of a query."
    )
    secret_key: str | None = Field(
        default=None,
        description="Key that signs slot tokens; by default one is generated and kept in the "
        "database, so every process on the same database shares it.",
    )
    solver_processes: int = Field(
        default=1, ge=0, le=64, description="Worker processes for solves (0: in-process)."
    )
    solve_time_limit: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description="Seconds a re-plan or day event may solve when the request does not say.",
    )
    idempotency_hours: float = Field(
        default=24.0, gt=0, le=24 * 30, description="How long an Idempotency-Key's answer is kept."
    )
    migrate_on_start: bool = Field(
        default=True, description="Apply migrations when the app starts."
    )
    pool_size: int = Field(
        default=10, ge=1, le=200, description="Database connections per process."
    )
    local_mode: bool = Field(
        default=True,
        description="With no API clients, serve requests from this machine (loopback) without "
        "credentials; `workshop serve` turns it off when it binds to another address.",
    )
    max_body_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        le=16 * 1024 * 1024,
        description="Largest request body accepted (413 beyond).",
    )
    slot_searches_per_minute: int = Field(
        default=120, ge=1, le=100_000, description="Slot searches per API client per minute."
    )
    holds_per_minute: int = Field(
        default=30,
        ge=1,
        le=100_000,
        description="Hold requests (create, confirm, release) per API client per minute.",
    )
    max_open_holds: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="Unexpired, unconfirmed holds one API client may have at once.",
    )
    session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="How long a day-board sign-in lasts."
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="Mark the sign-in cookie Secure (default: when the request came over HTTPS).",
    )
    retention_days: int | None = Field(
        default=None,
        ge=1,
        le=100 * 366,
        description="`workshop privacy purge` anonymises bookings whose day is older than this.",
    )
