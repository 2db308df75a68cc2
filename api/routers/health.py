"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter

from api.db.migrate import current, head
from api.deps import ContextDep
from api.routers.common import problems
from api.schemas import Health
from api.services.errors import Unavailable

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up."""
    return Health()


@router.get("/readyz", response_model=Health, responses=problems(503))
def readyz(ctx: ContextDep) -> Health:
    """The database answers and its schema is the newest one."""
    try:
        revision = current(ctx.db)
    except Exception as exc:
        raise Unavailable(f"the database does not answer: {type(exc).__name__}") from exc
    if revision != head():
        raise Unavailable(f"the database schema is at {revision}, expected {head()}")
    return Health(database=ctx.db.url.get_backend_name(), revision=revision)
