"""What every service function needs besides its arguments: database, clock, settings, keys."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from api.clock import Clock
from api.db.session import Database
from api.services.solver import SolverPool
from api.settings import Settings


@dataclass(slots=True)
class Context:
    """The service's shared state for one process (one per app, shared by all requests)."""

    db: Database
    clock: Clock
    settings: Settings
    token_key: bytes
    solver: SolverPool  # the app's worker processes for solves (fresh for each lifespan)
    caches: dict[str, Any] = field(default_factory=dict)  # per-app caches, by purpose


def now_utc(ctx: Context) -> dt.datetime:
    """The context clock's instant in UTC: stored times are compared as UTC on every database."""
    moment = ctx.clock.now()
    if moment.tzinfo is None:
        raise ValueError("the service clock must give timezone-aware instants")
    return moment.astimezone(dt.UTC)
