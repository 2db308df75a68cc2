"""What every service function needs besides its arguments: database, clock, settings, keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from api.clock import Clock
from api.db.session import Database
from api.services.solver import SolverPool
from api.settings import Settings

T = TypeVar("T")


@dataclass(slots=True)
class Context:
    """The service's shared state for one process (one per app, shared by all requests)."""

    db: Database
    clock: Clock
    settings: Settings
    token_key: bytes
    solver: SolverPool  # the app's worker processes for solves (fresh for each lifespan)
    caches: dict[str, Any] = field(default_factory=dict)  # per-app caches, by purpose

    def cache(self, name: str, kind: type[T], make: Callable[[], T]) -> T:
        """The app's cache called ``name``, made by ``make`` on first use (one cache even when
        requests race for it)."""
        found = self.caches.get(name)
        if found is None:
            found = self.caches.setdefault(name, make())
        assert isinstance(found, kind)
        return found


def now_utc(ctx: Context) -> dt.datetime:
    """The context clock's instant in UTC: stored times are compared as UTC on every database."""
    moment = ctx.clock.now()
    if moment.tzinfo is None:
        raise ValueError("the service clock must give timezone-aware instants")
    return moment.astimezone(dt.UTC)
