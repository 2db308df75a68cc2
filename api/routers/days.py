"""Loading a day over HTTP: a manager sends a day file for one of its workshops.

The same as ``workshop load`` at the server, for managers who are not at it: the day file
(YAML, or the same structure as JSON) is read as strictly as the command line reads it, and
more (no anchors, no CSV file names), stored, planned and audited. Who may do it, for which
workshops, is ``api.access``'s to decide, as for every route.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from api.access import PrincipalDep
from api.deps import ContextDep
from api.routers.common import problems
from api.routers.plans import DatePath
from api.routers.workshops import WorkshopId
from api.schemas import DayLoaded
from api.services import workshops
from api.services.context import now_utc

router = APIRouter(tags=["workshops"])

_EXAMPLE = """workshop: {id: city-motors, name: City Motors Service, timezone: Asia/Shanghai,
           open: "07:30", close: "19:00"}
bays: [{id: L1, kinds: [lift]}]
technicians: [{id: T01, name: Li Wei, skills: [general], shift: ["08:00", "17:00"]}]
services: [{code: MINOR, name: Minor service,
            operations: [{skill: general, bay: lift, minutes: 60}]}]
day: 2026-11-26
bookings: [{id: R1001, services: [MINOR], arrival: "08:00", waiting: true}]
"""
_DAY_FILE: dict[str, Any] = {
    "required": True,
    "description": "The day file (see the day-file format), as YAML or as JSON; its workshop "
    "id and day must be the ones in the address, and its bookings listed in it.",
    "content": {
        "application/yaml": {"schema": {"type": "string"}, "example": _EXAMPLE},
        "application/json": {"schema": {"type": "object"}},
    },
}


@router.put(
    "/workshops/{workshop_id}/days/{date}",
    response_model=DayLoaded,
    responses=problems(404, 409, 415, 422),
    openapi_extra={"requestBody": _DAY_FILE},
)
async def load_day(
    request: Request,
    ctx: ContextDep,
    principal: PrincipalDep,
    workshop_id: WorkshopId,
    date: DatePath,
    replace: Annotated[
        bool, Query(description="Load over the day's bookings if they all came from a day file.")
    ] = False,
    discard_online_bookings: Annotated[
        bool,
        Query(
            description="Load over the day even if it has bookings made online or as walk-ins, "
            "or day events: they are deleted (implies replace)."
        ),
    ] = False,
) -> DayLoaded:
    """Store the workshop and its day of bookings from a day file, and plan the day (a new
    workshop is created); 409 if the day already has bookings and ``replace`` is not given,
    unless the same file is sent again to a day nothing has happened to since (a retry): that
    gets the first answer."""
    body = await request.body()
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    result = await run_in_threadpool(
        lambda: workshops.load_sent_day(
            ctx.db,
            body,
            media_type,
            workshop_id=workshop_id,
            date=date,
            replace=replace or discard_online_bookings,
            discard_online=discard_online_bookings,
            now=now_utc(ctx),
            actor=principal.actor,
        )
    )
    return DayLoaded(
        workshop=result.workshop,
        date=result.date,
        bookings=result.bookings,
        scheduled=result.scheduled,
        unscheduled=result.unscheduled,
        plan_version=result.plan_version,
    )
