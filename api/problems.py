"""Every error the service answers is ``application/problem+json`` (RFC 9457).

Service errors carry their own type, title and detail; validation errors name the field; an
unexpected error is logged here with its traceback and answered as a plain 500 problem, so no
traceback ever reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.db.session import is_retryable
from api.services.errors import ServiceError

log = logging.getLogger("workshop.api")
MEDIA_TYPE = "application/problem+json"
_TITLES = {404: "Not found", 405: "Method not allowed", 409: "Conflict", 422: "Invalid request"}


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


async def _service_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return problem(exc.status, exc.type, exc.title, exc.detail, field=exc.field)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field(e.get("loc", ())), "message": str(e.get("msg", "invalid"))}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    return problem(
        422,
        "validation-error",
        "Invalid request",
        f"{first['field']}: {first['message']}",
        field=first["field"],
        errors=errors,
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _TITLES.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) else title
    slug = title.lower().replace(" ", "-")
    response = problem(exc.status_code, slug, title, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A lost connection is worth a retry (503); anything else is a bug (500), logged."""
    if is_retryable(exc):
        log.warning("database unavailable in %s %s: %s", request.method, request.url.path, exc)
        response = problem(
            503,
            "database-unavailable",
            "Database unavailable",
            "the database did not answer; retry the request (with the same Idempotency-Key)",
        )
        response.headers["Retry-After"] = "1"
        return response
    log.error("database error in %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        500,
        "internal-error",
        "Internal server error",
        "the service failed unexpectedly; the error was logged",
    )


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as problem+json."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)

    @app.middleware("http")
    async def _unexpected(request: Request, call_next: Any) -> Any:
        try:
            return await call_next(request)
        except Exception:  # the last line of defence: log it, answer without a traceback
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            return problem(
                500,
                "internal-error",
                "Internal server error",
                "the service failed unexpectedly; the error was logged",
            )
