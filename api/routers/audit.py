"""The audit log of a workshop over HTTP (managers only, by ``api.access``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ContextDep
from api.routers.common import problems
from api.routers.workshops import WorkshopId
from api.schemas import AuditEntry, AuditList
from api.services import audit

router = APIRouter(tags=["audit"])


@router.get(
    "/workshops/{workshop_id}/audit", response_model=AuditList, responses=problems(404, 422)
)
def get_audit(
    ctx: ContextDep,
    workshop_id: WorkshopId,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many entries.")] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=2**62, description="Only entries older than this id.")
    ] = None,
) -> AuditList:
    """Every change to the workshop (holds, bookings, cancellations, re-plans, day events,
    loads), newest first: who, when, what."""
    found = audit.entries(ctx.db, workshop_id=workshop_id, limit=limit, before=before)
    return AuditList(entries=[AuditEntry(**e) for e in found])
