"""Workshops, slot offers, holds and bookings: the online booking flow."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.deps import ContextDep, IdempotencyKey
from api.routers.common import problems, replayed
from api.schemas import (
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
WorkshopId = Annotated[str, Path(min_length=1, max_length=100, description="Workshop id.")]
BookingId = Annotated[str, Path(min_length=1, max_length=100, description="Booking id.")]
HoldId = Annotated[str, Path(min_length=1, max_length=64, description="Hold id.")]


@router.get(
    "/workshops",
    response_model=list[WorkshopPublic],
    responses=problems(),
    tags=["workshops"],
)
def list_workshops(ctx: ContextDep) -> list[WorkshopPublic]:
    """Every stored workshop with the dates it has days for."""
    return [WorkshopPublic(**asdict(w)) for w in workshops.list_workshops(ctx.db)]


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
        str, Query(min_length=1, max_length=500, description="Service codes, comma separated.")
    ],
    waiting: Annotated[bool, Query(description="true: the customer waits in the lounge.")] = False,
    start: Annotated[
        Instant | None, Query(alias="from", description="Earliest drop-off (default now).")
    ] = None,
    end: Annotated[
        Instant | None, Query(alias="to", description="Latest drop-off (default +1 day).")
    ] = None,
) -> SlotList:
    """Exact drop-off offers: each has a technician, bay and parts behind it."""
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
    workshop_id: WorkshopId,
    body: HoldCreate,
    response: Response,
    key: IdempotencyKey = None,
) -> HoldPublic:
    """Hold an offered slot for a few minutes; 409 when it is no longer free."""
    result = booking.create_hold(ctx=ctx, workshop_id=workshop_id, slot=body.slot, key=key)
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
def release_hold(ctx: ContextDep, hold_id: HoldId) -> HoldPublic:
    """Let a hold go before it expires."""
    return HoldPublic(**booking.release_hold(ctx=ctx, hold_id=hold_id))


@router.post(
    "/holds/{hold_id}/confirm",
    status_code=201,
    response_model=Confirmed,
    responses=problems(404, 409, 422),
    tags=["booking"],
)
def confirm_hold(
    ctx: ContextDep,
    hold_id: HoldId,
    body: Confirm,
    response: Response,
    key: IdempotencyKey = None,
) -> Confirmed:
    """Book a held slot; an expired hold, or one the day no longer has room for, cannot be
    confirmed (409)."""
    result = booking.confirm_hold(
        ctx=ctx, hold_id=hold_id, customer=body.customer, vehicle=body.vehicle, key=key
    )
    return Confirmed(**replayed(result, response))


@router.get(
    "/workshops/{workshop_id}/bookings",
    response_model=BookingList,
    responses=problems(404, 422),
    tags=["bookings"],
)
def list_bookings(
    ctx: ContextDep,
    workshop_id: WorkshopId,
    date: Annotated[dt.date | None, Query(description="Only this date.")] = None,
    status: Annotated[str | None, Query(pattern="^(booked|cancelled)$")] = None,
) -> BookingList:
    """The workshop's bookings."""
    found = booking.list_bookings(ctx=ctx, workshop_id=workshop_id, date=date, status=status)
    return BookingList(bookings=[BookingPublic(**b) for b in found])


@router.get(
    "/workshops/{workshop_id}/bookings/{booking_id}",
    response_model=BookingPublic,
    responses=problems(404, 422),
    tags=["bookings"],
)
def get_booking(ctx: ContextDep, workshop_id: WorkshopId, booking_id: BookingId) -> BookingPublic:
    """One booking with its ready time in the current plan."""
    return BookingPublic(
        **booking.get_booking(ctx=ctx, workshop_id=workshop_id, booking_id=booking_id)
    )


@router.delete(
    "/workshops/{workshop_id}/bookings/{booking_id}",
    response_model=BookingPublic,
    responses=problems(404, 422),
    tags=["bookings"],
)
def cancel_booking(
    ctx: ContextDep, workshop_id: WorkshopId, booking_id: BookingId
) -> BookingPublic:
    """Cancel a booking and free what it reserved."""
    return BookingPublic(
        **booking.cancel_booking(ctx=ctx, workshop_id=workshop_id, booking_id=booking_id)
    )
