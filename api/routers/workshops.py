"""Workshops, slot offers, holds and bookings: the online booking flow.

Who may call each route is decided before it runs (``api.access``); a route uses the
principal only to shape its answer: the workshops in scope, a booking client's own bookings,
personal data for the roles that may see it, the actor of the audit entry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response

from api.access import Principal, PrincipalDep
from api.deps import ContextDep, IdempotencyKey
from api.routers.common import problems, replayed
from api.schemas import (
    HOLD_ID_PATTERN,
    ID_PATTERN,
    BookingList,
    BookingPublic,
    Confirm,
    Confirmed,
    HoldCreate,
    HoldPublic,
    Instant,
    SlotList,
    SlotPublic,
    WorkshopPublic,
)
from api.services import booking, workshops

router = APIRouter()
WorkshopId = Annotated[
    str, Path(min_length=1, max_length=100, pattern=ID_PATTERN, description="Workshop id.")
]
BookingId = Annotated[
    str, Path(min_length=1, max_length=100, pattern=ID_PATTERN, description="Booking id.")
]
HoldId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=HOLD_ID_PATTERN, description="Hold id.")
]
SERVICES_PATTERN = r"^[^\x00-\x1f\x7f]+$"  # printable: codes are the catalogue's


def shown(principal: Principal, booking_body: dict[str, Any]) -> dict[str, Any]:
    """A booking as this principal may see it: customer and vehicle only for roles that may
    see personal data, technicians never for booking clients."""
    body = dict(booking_body)
    if not principal.sees_personal_data:
        body["customer"] = body["vehicle"] = None
    if not principal.sees_technicians:
        body["technician"] = None
    return body


@router.get(
    "/workshops",
    response_model=list[WorkshopPublic],
    responses=problems(),
    tags=["workshops"],
)
def list_workshops(ctx: ContextDep, principal: PrincipalDep) -> list[WorkshopPublic]:
    """Every stored workshop the client may see, with the dates it has days for."""
    return [
        WorkshopPublic(**asdict(w))
        for w in workshops.list_workshops(ctx.db)
        if principal.sees(w.id)
    ]


@router.get(
    "/workshops/{workshop_id}",
    response_model=WorkshopPublic,
    responses=problems(404, 422),
    tags=["workshops"],
)
def get_workshop(ctx: ContextDep, workshop_id: WorkshopId) -> WorkshopPublic:
    """One workshop."""
    return WorkshopPublic(**asdict(workshops.get_workshop(ctx.db, workshop_id)))


@router.get(
    "/workshops/{workshop_id}/slots",
    response_model=SlotList,
    responses=problems(404, 422),
    tags=["booking"],
)
def get_slots(
    ctx: ContextDep,
    workshop_id: WorkshopId,
    services: Annotated[
        str,
        Query(
            min_length=1,
            max_length=500,
            pattern=SERVICES_PATTERN,
            description="Service codes, comma separated.",
        ),
    ],
    waiting: Annotated[bool, Query(description="true: the customer waits in the lounge.")] = False,
    start: Annotated[
        Instant | None, Query(alias="from", description="Earliest drop-off (default now).")
    ] = None,
    end: Annotated[
        Instant | None, Query(alias="to", description="Latest drop-off (default +1 day).")
    ] = None,
) -> SlotList:
    """Exact drop-off offers: each has a technician, bay and parts behind it (sealed in the
    token, not shown)."""
    slots = booking.find_slots(
        ctx=ctx,
        workshop_id=workshop_id,
        services=services.split(","),
        waiting=waiting,
        start=start,
        end=end,
    )
    return SlotList(
        slots=[SlotPublic(**{**asdict(s), "services": list(s.services)}) for s in slots]
    )


@router.post(
    "/workshops/{workshop_id}/holds",
    status_code=201,
    response_model=HoldPublic,
    responses=problems(404, 409, 422),
    tags=["booking"],
)
def create_hold(
    ctx: ContextDep,
    principal: PrincipalDep,
    workshop_id: WorkshopId,
    body: HoldCreate,
    response: Response,
    key: IdempotencyKey = None,
) -> HoldPublic:
    """Hold an offered slot for a few minutes; 409 when it is no longer free, 429 when the
    client holds as many slots as it may at once."""
    result = booking.create_hold(
        ctx=ctx, workshop_id=workshop_id, slot=body.slot, key=key, actor=principal.actor
    )
    return HoldPublic(**replayed(result, response))


@router.get(
    "/holds/{hold_id}", response_model=HoldPublic, responses=problems(404, 422), tags=["booking"]
)
def get_hold(ctx: ContextDep, hold_id: HoldId) -> HoldPublic:
    """A hold and its status (held, expired, confirmed)."""
    return HoldPublic(**booking.get_hold(ctx=ctx, hold_id=hold_id))


@router.delete(
    "/holds/{hold_id}", response_model=HoldPublic, responses=problems(404, 422), tags=["booking"]
)
def release_hold(ctx: ContextDep, principal: PrincipalDep, hold_id: HoldId) -> HoldPublic:
    """Let a hold go before it expires."""
    return HoldPublic(**booking.release_hold(ctx=ctx, hold_id=hold_id, actor=principal.actor))


@router.post(
    "/holds/{hold_id}/confirm",
    status_code=201,
    response_model=Confirmed,
    responses=problems(404, 409, 422),
    tags=["booking"],
)
def confirm_hold(
    ctx: ContextDep,
    principal: PrincipalDep,
    hold_id: HoldId,
    body: Confirm,
    response: Response,
    key: IdempotencyKey = None,
) -> Confirmed:
    """Book a held slot; an expired hold, or one the day no longer has room for, cannot be
    confirmed (409)."""
    result = booking.confirm_hold(
        ctx=ctx,
        hold_id=hold_id,
        customer=body.customer,
        vehicle=body.vehicle,
        key=key,
        actor=principal.actor,
    )
    return Confirmed(**shown(principal, replayed(result, response)))


@router.get(
    "/workshops/{workshop_id}/bookings",
    response_model=BookingList,
    responses=problems(404, 422),
    tags=["bookings"],
)
def list_bookings(
    ctx: ContextDep,
    principal: PrincipalDep,
    workshop_id: WorkshopId,
    date: Annotated[dt.date | None, Query(description="Only this date.")] = None,
    status: Annotated[Literal["booked", "cancelled"] | None, Query()] = None,
) -> BookingList:
    """The workshop's bookings (a booking client's: the ones it made)."""
    found = booking.list_bookings(
        ctx=ctx, workshop_id=workshop_id, date=date, status=status, owner=principal.owner
    )
    return BookingList(bookings=[BookingPublic(**shown(principal, b)) for b in found])


@router.get(
    "/workshops/{workshop_id}/bookings/{booking_id}",
    response_model=BookingPublic,
    responses=problems(404, 422),
    tags=["bookings"],
)
def get_booking(
    ctx: ContextDep, principal: PrincipalDep, workshop_id: WorkshopId, booking_id: BookingId
) -> BookingPublic:
    """One booking with its ready time in the current plan."""
    found = booking.get_booking(ctx=ctx, workshop_id=workshop_id, booking_id=booking_id)
    return BookingPublic(**shown(principal, found))


@router.delete(
    "/workshops/{workshop_id}/bookings/{booking_id}",
    response_model=BookingPublic,
    responses=problems(404, 422),
    tags=["bookings"],
)
def cancel_booking(
    ctx: ContextDep, principal: PrincipalDep, workshop_id: WorkshopId, booking_id: BookingId
) -> BookingPublic:
    """Cancel a booking and free what it reserved."""
    found = booking.cancel_booking(
        ctx=ctx, workshop_id=workshop_id, booking_id=booking_id, actor=principal.actor
    )
    return BookingPublic(**shown(principal, found))
