"""Plans of a day over HTTP: read the current plan, re-plan, post day events."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from fastapi.responses import JSONResponse

from api.access import PrincipalDep
from api.deps import ContextDep
from api.routers.common import problems
from api.routers.workshops import WorkshopId
from api.schemas import DayEvent, PlanFile, PlanRequest, Replanned
from api.services import daily, plans
from api.services.context import now_utc

router = APIRouter(tags=["plans"])
DatePath = Annotated[dt.date, Path(description="The day, YYYY-MM-DD.")]
PLAN_EXAMPLE: dict[str, Any] = {
    "workshop": "city-motors",
    "date": "2026-11-26",
    "status": "HEURISTIC",
    "objective": 380,
    "objective_parts": {"weighted_wait": 380, "unscheduled_penalty": 0},
    "lower_bound": 300,
    "assignments": [
        {
            "booking": "R1001",
            "service": "MINOR",
            "operation": 0,
            "bay": "L1",
            "technician": "T01",
            "start": "2026-11-26T08:00:00+08:00",
            "end": "2026-11-26T09:00:00+08:00",
        }
    ],
    "unscheduled": [],
    "kpis": {},
}
_PLAN_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The plan in the plan-file format; its stored version in Plan-Version.",
        "content": {"application/json": {"example": PLAN_EXAMPLE}},
    },
    **problems(404, 422),
}


@router.get(
    "/workshops/{workshop_id}/plans/{date}", response_model=PlanFile, responses=_PLAN_RESPONSE
)
def get_plan(ctx: ContextDep, workshop_id: WorkshopId, date: DatePath) -> JSONResponse:
    """The day's current plan (bookings confirmed since the last re-plan included)."""
    found = plans.current_plan(ctx.db, workshop_id, date, now_utc(ctx))
    return JSONResponse(found.data, headers={"Plan-Version": str(found.version)})


@router.get(
    "/workshops/{workshop_id}/plans/{date}/versions/{version}",
    response_model=PlanFile,
    responses=_PLAN_RESPONSE,
)
def get_plan_version(
    ctx: ContextDep,
    workshop_id: WorkshopId,
    date: DatePath,
    version: Annotated[int, Path(ge=1, le=1_000_000)],
) -> JSONResponse:
    """A stored plan version, as it was when stored."""
    return JSONResponse(plans.plan_version(ctx.db, workshop_id, date, version))


@router.post(
    "/workshops/{workshop_id}/plans/{date}",
    status_code=201,
    response_model=Replanned,
    responses=problems(404, 409, 422, 503),
)
def replan(
    ctx: ContextDep,
    principal: PrincipalDep,
    workshop_id: WorkshopId,
    date: DatePath,
    body: Annotated[PlanRequest | None, Body()] = None,
) -> Replanned:
    """Re-plan the day and store it as a new version (operations started before ``now`` stay;
    holds the day no longer has room for are released)."""
    request = body or PlanRequest()
    return Replanned(
        **daily.replan_day(
            ctx=ctx,
            workshop_id=workshop_id,
            date=date,
            method=request.method,
            time_limit=request.time_limit,
            now=request.now,
            actor=principal.actor,
        )
    )


@router.post(
    "/workshops/{workshop_id}/days/{date}/events",
    status_code=201,
    response_model=Replanned,
    responses=problems(404, 409, 422, 503),
)
def post_event(
    ctx: ContextDep,
    principal: PrincipalDep,
    workshop_id: WorkshopId,
    date: DatePath,
    body: DayEvent,
) -> Replanned:
    """Record what happened and re-plan around it, listing every promise that moved."""
    return Replanned(
        **daily.post_event(
            ctx=ctx,
            workshop_id=workshop_id,
            date=date,
            event=body.model_dump(),
            actor=principal.actor,
        )
    )
