"""Errors the service functions raise; the HTTP layer maps each to a problem+json answer.

They carry what a client needs to act: a stable problem ``type`` slug, a short title and a
sentence of detail. The CLI prints the same detail as its one ``error:`` line.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error a service function raises on purpose."""

    status = 400
    type = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(ServiceError):
    """An id that names nothing (workshop, booking, hold, plan)."""

    status = 404
    type = "not-found"
    title = "Not found"


class Conflict(ServiceError):
    """The request is well formed but the state of the day refuses it."""

    status = 409
    type = "conflict"
    title = "Conflict"


class SlotTaken(Conflict):
    """The slot is no longer free: someone else holds or booked part of it."""

    type = "slot-taken"
    title = "Slot no longer free"


class HoldExpired(Conflict):
    """The hold ran out before it was confirmed; its slot has been released."""

    type = "hold-expired"
    title = "Hold expired"


class Invalid(ServiceError):
    """A request that is shaped correctly but means something impossible."""

    status = 422
    type = "invalid-request"
    title = "Invalid request"


class IdempotencyMismatch(Invalid):
    """An Idempotency-Key reused with a different request body."""

    type = "idempotency-key-reused"
    title = "Idempotency key reused with a different request"


class Unavailable(ServiceError):
    """The service cannot answer now (solver pool broken or over its time limit)."""

    status = 503
    type = "unavailable"
    title = "Service unavailable"
