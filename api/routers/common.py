"""Shared bits of the routers: the error responses each operation documents."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from api.services.idempotency import Answer

_TEXT = {
    404: "Unknown id",
    409: "Conflict (slot taken, hold expired)",
    415: "Unsupported media type",
    422: "Invalid request",
    503: "Unavailable (the database or the solver); retry",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for error answers, 503 always among them (the database
    may be away); ``api.problems`` documents each as application/problem+json."""
    return {code: {"description": _TEXT.get(code, "Error")} for code in sorted({*codes, 503})}


def replayed(result: Answer, response: Response) -> dict[str, Any]:
    """The body of a service answer; a replay says so in ``Idempotent-Replayed``."""
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return result.body
