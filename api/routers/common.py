"""Shared bits of the routers: problem responses for the OpenAPI document, answers."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from api.problems import MEDIA_TYPE
from api.schemas import Problem
from api.services.idempotency import Answer


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problem+json answers."""
    text = {
        404: "Unknown id",
        409: "Conflict (slot taken, hold expired)",
        422: "Invalid request",
        503: "Unavailable",
    }
    return {
        code: {
            "model": Problem,
            "description": text.get(code, "Error"),
            "content": {MEDIA_TYPE: {}},
        }
        for code in codes
    }


def answer(result: Answer) -> JSONResponse:
    """A service answer as JSON; replays say so in ``Idempotent-Replayed``."""
    headers = {"Idempotent-Replayed": "true"} if result.replayed else None
    return JSONResponse(result.body, status_code=result.status, headers=headers)
