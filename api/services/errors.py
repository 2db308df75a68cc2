"""Errors the service functions raise; the HTTP layer maps each to a problem+json answer.

They carry what a client needs to act: a stable problem ``type`` slug, a short title and a
sentence of detail. The CLI prints the same detail as its one ``error:`` line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ServiceError(Exception):
    """Base of every error a service function raises on purpose."""

    status = 400
    type = "bad-request"
    title = "Bad request"
    replayed = False  # True: the first answer to an Idempotency-Key, given again

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.headers: dict[str, str] = {}  # response headers the answer needs

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 body of this error (``type``, ``title``, ``status``, ``detail``)."""
        body: dict[str, Any] = {
            "type": f"/problems/{self.type}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field is not None:
            body["field"] = self.field
        return body


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


class DayFileInvalid(Invalid):
    """A day file (or its bookings CSV) that cannot be loaded: each of ``problems`` is one
    line naming the file, the line or field, and what was expected.

    ``detail`` joins the first ten, for problem+json and the command line; the day board lists
    them all.
    """

    def __init__(self, problems: Sequence[str], *, field: str | None = None) -> None:
        self.problems = tuple(problems) or ("invalid day file",)
        shown = "; ".join(self.problems[:10])
        more = f" (and {len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__(shown + more, field=field)


class UnsupportedMediaType(ServiceError):
    """A request body in a format the operation does not read."""

    status = 415
    type = "unsupported-media-type"
    title = "Unsupported media type"


class IdempotencyMismatch(Invalid):
    """An Idempotency-Key reused with a different request body."""

    type = "idempotency-key-reused"
    title = "Idempotency key reused with a different request"


class Unauthorized(ServiceError):
    """No credentials, or credentials that are not (or no longer) valid."""

    status = 401
    type = "unauthorized"
    title = "Unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.headers["WWW-Authenticate"] = 'Bearer realm="workshop"'


class Forbidden(ServiceError):
    """Valid credentials whose role may not do this (or a form without its CSRF token)."""

    status = 403
    type = "forbidden"
    title = "Forbidden"


class TooManyRequests(ServiceError):
    """A client over its rate limit or its cap on open holds; ``Retry-After`` says when."""

    status = 429
    type = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail)
        self.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))


class Unavailable(ServiceError):
    """The service cannot answer now (solver pool broken or over its time limit)."""

    status = 503
    type = "unavailable"
    title = "Service unavailable"


class StoredProblem(ServiceError):
    """An error answer stored under an Idempotency-Key, answered again exactly as it was."""

    def __init__(self, status: int, body: dict[str, Any], *, replayed: bool) -> None:
        super().__init__(str(body.get("detail", "")), field=body.get("field"))
        self.status = status
        self.body = dict(body)
        self.replayed = replayed

    def problem(self) -> dict[str, Any]:
        """The stored body."""
        return dict(self.body)
