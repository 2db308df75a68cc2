"""Request and response bodies of the HTTP service (pydantic), apart from the ORM models.

Field names are the domain names of DESIGN.md; times are ISO 8601 with the workshop's offset.
Each model carries an example so the OpenAPI document at ``/openapi.json`` shows real shapes.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

ISO = "2026-11-26T09:00:00+08:00"
FIRST_YEAR, LAST_YEAR = 2000, 2100
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,99}$"
"""Workshop and booking ids: what ``workshop load`` accepts and paths may carry."""
HOLD_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
"""Hold ids as paths may carry them (the service makes ``H`` and 20 hex digits)."""
TOKEN_EXAMPLE = "gAAAAABpJ4v...Qk3R9w=="


def _in_calendar(moment: dt.datetime) -> dt.datetime:
    """Times the service can plan for; far-off years would overflow on conversion."""
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(f"must lie between the years {FIRST_YEAR} and {LAST_YEAR}")
    return moment


Instant = Annotated[AwareDatetime, AfterValidator(_in_calendar)]
"""An ISO 8601 time with its UTC offset, in the years 2000 to 2100."""


class Problem(BaseModel):
    """An error as ``application/problem+json`` (RFC 9457)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "type": "/problems/slot-taken",
                "title": "Slot no longer free",
                "status": 409,
                "detail": "the slot is no longer free: technician T01 is no longer free then",
            }
        },
    )
    type: str = Field(description="A URI reference naming the kind of problem.")
    title: str
    status: int
    detail: str
    field: str | None = Field(default=None, description="The request field at fault, if one is.")
    errors: list[dict[str, Any]] | None = Field(default=None, description="Every validation error.")


class Health(BaseModel):
    """Liveness or readiness."""

    status: Literal["ok"] = "ok"
    database: str | None = None
    revision: str | None = None


class WorkshopPublic(BaseModel):
    """A stored workshop and the dates it has days for."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "city-motors",
                "name": "City Motors Service",
                "timezone": "Asia/Shanghai",
                "days": ["2026-11-26"],
            }
        }
    )
    id: str
    name: str
    timezone: str
    days: list[dt.date]


class SlotPublic(BaseModel):
    """An exact offer: drop off at ``arrival``, ready by ``promised``; hold it with ``slot``."""

    slot: str = Field(
        description="Opaque, sealed token (it reveals nothing of how the work would be done); "
        "POST it to /workshops/{id}/holds."
    )
    arrival: str
    promised: str
    waiting: bool
    services: list[str]


class SlotList(BaseModel):
    """Offers in order of drop-off time."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "slots": [
                    {
                        "slot": TOKEN_EXAMPLE,
                        "arrival": "2026-11-26T09:00:00+08:00",
                        "promised": "2026-11-26T10:20:00+08:00",
                        "waiting": False,
                        "services": ["MINOR"],
                    }
                ]
            }
        }
    )
    slots: list[SlotPublic]


class HoldCreate(BaseModel):
    """Hold an offered slot."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"slot": TOKEN_EXAMPLE}}
    )
    slot: str = Field(min_length=1, max_length=8000)


class HoldPublic(BaseModel):
    """A hold: the slot is kept for the customer until ``expires_at``."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "H3f2a9c0d1e2b4a5c6d7e",
                "status": "held",
                "expires_at": "2026-11-26T09:05:00+08:00",
                "workshop": "city-motors",
                "arrival": ISO,
                "promised": "2026-11-26T10:20:00+08:00",
                "waiting": False,
                "services": ["MINOR"],
                "booking": None,
            }
        }
    )
    id: str
    status: Literal["held", "expired", "confirmed"]
    expires_at: str = Field(description="When the hold lapses, in the workshop's offset.")
    workshop: str
    arrival: str
    promised: str
    waiting: bool
    services: list[str]
    booking: str | None = Field(default=None, description="The booking it was confirmed as.")


class Confirm(BaseModel):
    """Who the booking is for."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"customer": "Zhang San", "vehicle": "沪A12345"}},
    )
    customer: str = Field(min_length=1, max_length=200)
    vehicle: str = Field(default="", max_length=100)


class BookingPublic(BaseModel):
    """A booking, with its ready time in the current plan (null if unscheduled or cancelled).

    ``customer`` and ``vehicle`` are null for viewers (personal data: managers see them, and a
    booking client on the bookings it made); ``technician`` is null for booking clients.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "B1A2B3C4D5E6F",
                "workshop": "city-motors",
                "date": "2026-11-26",
                "customer": "Zhang San",
                "vehicle": "沪A12345",
                "services": ["MINOR"],
                "arrival": ISO,
                "waiting": False,
                "promised": "2026-11-26T10:20:00+08:00",
                "priority": "1",
                "technician": None,
                "status": "booked",
                "source": "online",
                "ready": "2026-11-26T10:20:00+08:00",
                "unscheduled_reason": None,
            }
        }
    )
    id: str
    workshop: str
    date: dt.date
    customer: str | None
    vehicle: str | None
    services: list[str]
    arrival: str
    waiting: bool
    promised: str | None
    priority: str
    technician: str | None
    status: str
    source: str
    ready: str | None
    unscheduled_reason: str | None


class Confirmed(BookingPublic):
    """A confirmed hold: ``booking`` is the new booking's id."""

    booking: str
    hold: str


class BookingList(BaseModel):
    """Bookings in order of date and drop-off."""

    bookings: list[BookingPublic]


class PlanRequest(BaseModel):
    """How to re-plan a day."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"method": "dispatch", "time_limit": 5, "now": None}},
    )
    method: Literal["fcfs", "dispatch", "cpsat"] = "dispatch"
    time_limit: float | None = Field(
        default=None,
        gt=0,
        le=300,
        description="Seconds the solver may take (default: the service's solve_time_limit).",
    )
    now: Instant | None = Field(
        default=None,
        description="Operations started before this instant stay as they are (default: now; "
        "within two days of the day).",
    )


class PromiseMove(BaseModel):
    """A booking whose ready time changed: tell the customer."""

    booking: str
    customer: str
    before: str | None
    after: str | None
    minutes: int | None = Field(description="How much later (negative: earlier).")


class ReleasedHold(BaseModel):
    """A hold the changed day no longer has room for: released, its confirm answers 409."""

    hold: str
    reason: str


class DayLoaded(BaseModel):
    """A day stored from a day file and planned: ``scheduled`` of its ``bookings`` placed."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "workshop": "city-motors",
                "date": "2026-11-26",
                "bookings": 6,
                "scheduled": 6,
                "unscheduled": 0,
                "plan_version": 1,
            }
        }
    )
    workshop: str
    date: dt.date
    bookings: int
    scheduled: int
    unscheduled: int
    plan_version: int


class Replanned(BaseModel):
    """A stored re-plan: its version, objective and every promise that moved."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "version": 3,
                "status": "HEURISTIC",
                "objective": 410,
                "frozen": 4,
                "moved": [
                    {
                        "booking": "R1003",
                        "customer": "Wang Wu",
                        "before": "2026-11-26T11:30:00+08:00",
                        "after": "2026-11-26T12:10:00+08:00",
                        "minutes": 40,
                    }
                ],
                "unscheduled": [],
                "released_holds": [],
                "event": 7,
            }
        }
    )
    version: int
    status: str
    objective: int | float = Field(
        description="Exact: an integer when whole, else the nearest number (as in plan files)."
    )
    frozen: int = Field(description="Operations already started, kept as they were.")
    moved: list[PromiseMove]
    unscheduled: list[dict[str, str]]
    released_holds: list[ReleasedHold] = Field(
        default_factory=list, description="Holds the change left no room for."
    )
    event: int | None = None


class DayEvent(BaseModel):
    """Something that happened during the day; the day is re-planned around it.

    - ``overrun``: ``booking``'s running (or named) operation takes ``minutes`` longer;
    - ``absent``: ``technician`` is away from ``at`` (until ``until``, default end of day);
    - ``part-late``: the ``sku`` delivery expected at ``expected`` arrives at ``arrives``
      instead (``quantity`` if given; without ``expected`` every delivery still to come moves
      there; with no delivery to move, ``quantity`` units arrive at ``arrives``);
    - ``walk-in``: a customer arrived at ``at`` with ``services``.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"kind": "overrun", "booking": "R1003", "minutes": 40, "at": ISO}
        },
    )
    kind: Literal["overrun", "absent", "part-late", "walk-in"]
    at: Instant | None = Field(
        default=None, description="When it happened, within the day (default: now)."
    )
    booking: str | None = Field(default=None, max_length=100)
    minutes: int | None = Field(default=None, gt=0, le=1440)
    technician: str | None = Field(default=None, max_length=100)
    until: Instant | None = Field(
        default=None, description="End of an absence, after 'at' (default: end of the day)."
    )
    sku: str | None = Field(default=None, max_length=100)
    expected: Instant | None = None
    arrives: Instant | None = None
    quantity: int | None = Field(default=None, gt=0, le=100_000)
    services: list[str] | None = Field(default=None, max_length=20)
    waiting: bool = True
    customer: str = Field(default="", max_length=200)
    vehicle: str = Field(default="", max_length=100)
    method: Literal["dispatch", "cpsat"] = Field(
        default="cpsat",
        description="cpsat: the repair plan improved by CP-SAT with a stability penalty; "
        "dispatch: the repair plan alone (fastest).",
    )
    time_limit: float | None = Field(
        default=None,
        gt=0,
        le=120,
        description="Seconds the re-plan may take (default: the service's solve_time_limit).",
    )


class PlannedOperation(BaseModel):
    """One operation of a booking on a technician in a bay (``operation``: index in its
    service)."""

    booking: str
    service: str
    operation: int
    bay: str
    technician: str
    start: str
    end: str


class UnscheduledBooking(BaseModel):
    """A booking the plan could not place today, and why."""

    booking: str
    reason: str


class PlanFile(BaseModel):
    """A day's plan in the plan-file format (``workshop plan --out``); numbers are exact."""

    workshop: str
    date: dt.date
    status: Literal["OPTIMAL", "FEASIBLE", "HEURISTIC"]
    objective: int | float
    objective_parts: dict[str, int | float]
    lower_bound: int | float
    assignments: list[PlannedOperation]
    unscheduled: list[UnscheduledBooking]
    kpis: dict[str, Any]


class AuditEntry(BaseModel):
    """One change: who (``actor``), when (``at``), what (``action`` on ``target``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": 42,
                "at": "2026-11-26T09:01:12+08:00",
                "actor": "online-shop",
                "action": "hold.confirm",
                "workshop": "city-motors",
                "target": "B1A2B3C4D5E6F",
                "detail": {"hold": "H3f2a9c0d1e2b4a5c6d7e", "services": ["MINOR"]},
            }
        }
    )
    id: int
    at: str
    actor: str = Field(description="API client name, 'local' (trial mode) or 'cli:<user>'.")
    action: str = Field(
        description="workshop.load, hold.create, hold.release, hold.confirm, booking.cancel, "
        "plan.replan, day.event, client.add, client.revoke or privacy.purge."
    )
    workshop: str | None
    target: str | None = Field(description="The hold, booking or date acted on.")
    detail: dict[str, Any]


class AuditList(BaseModel):
    """Audit entries, newest first; ask again with ``before`` = the last id for older ones."""

    entries: list[AuditEntry]
