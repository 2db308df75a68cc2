"""Every error the service answers is ``application/problem+json`` (RFC 9457).

Service errors carry their own type, title and detail; validation errors name the field; an
unexpected error is logged here with its traceback and answered as a plain 500 problem, so no
traceback ever reaches a client. The OpenAPI document says the same: every error response of
every operation is ``application/problem+json`` with the ``Problem`` schema.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.db.session import is_exclusion_violation, is_retryable
from api.schemas import Problem
from api.services.errors import ServiceError, SlotTaken

log = logging.getLogger("workshop.api")


class BodyTooLarge(Exception):
    """A request body read past the service's size limit (raised by ``api.guard``)."""


def _body_too_large(error: BaseException | None) -> BodyTooLarge | None:
    """The body-limit error behind ``error``, which Starlette may have wrapped in exception
    groups and chained under others; None when ``error`` is something else."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, BodyTooLarge):
            return current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend((current.__cause__, current.__context__))
    return None


MEDIA_TYPE = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"
_TITLES = {
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    422: "Invalid request",
}
_LOCATIONS = ("body", "query", "path", "header")


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def _field(error: Any) -> str:
    """The request field a validation error is about: ``slot``, ``from``, ``at``, ``body``."""
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":
        return "body"  # the body is not JSON at all; its loc ends in a character offset
    parts = [str(p) for p in loc if p not in _LOCATIONS]
    return ".".join(parts) or ".".join(str(p) for p in loc)


async def service_error(_: Request, exc: Exception) -> JSONResponse:
    """The problem+json answer of a ServiceError (with its headers)."""
    assert isinstance(exc, ServiceError)
    response = JSONResponse(exc.problem(), status_code=exc.status, media_type=MEDIA_TYPE)
    response.headers.update(exc.headers)
    if exc.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    """A 422 problem naming the first field at fault (and listing every error)."""
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _field(e), "message": str(e.get("msg", "invalid"))} for e in exc.errors()]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    return problem(
        422,
        "validation-error",
        "Invalid request",
        f"{first['field']}: {first['message']}",
        field=first["field"],
        errors=errors,
    )


async def http_error(_: Request, exc: Exception) -> JSONResponse:
    """The problem of an HTTP error raised by FastAPI or Starlette (404, 405, 413, ...)."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI could not read the body (not UTF-8, not parseable)
        detail = f"body: {exc.detail}" if isinstance(exc.detail, str) else "body: unreadable"
        return problem(422, "validation-error", "Invalid request", detail, field="body")
    title = _TITLES.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) else title
    slug = title.lower().replace(" ", "-")
    response = problem(exc.status_code, slug, title, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A lost connection is worth a retry (503); an overlap the database refused is a taken
    slot (409), whichever write path ran into it; anything else is a bug (500), logged."""
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
    if is_exclusion_violation(exc):
        log.warning("overlap refused by the database in %s %s", request.method, request.url.path)
        taken = SlotTaken("the time is no longer free (someone else took it); try again")
        return await service_error(request, taken)
    log.error("database error in %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        500,
        "internal-error",
        "Internal server error",
        "the service failed unexpectedly; the error was logged",
    )


def _openapi(app: FastAPI, extend: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:
    """The OpenAPI document, with every error response (4xx, 5xx) as a problem+json Problem
    and a 422 on every operation that takes parameters or a body; ``extend`` adds to it first
    (``api.access`` documents credentials and their errors)."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    if extend is not None:
        extend(doc)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if (operation.get("parameters") or operation.get("requestBody")) and (
                "422" not in responses
            ):
                responses["422"] = {"description": "Invalid request"}
            for code, response in responses.items():
                if code.isdigit() and int(code) >= 400:
                    response["content"] = {MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's, no longer used
        if f'"#/components/schemas/{name}"' not in json.dumps(doc):
            schemas.pop(name, None)
    app.openapi_schema = doc
    return doc


def install(app: FastAPI, *, extend: Callable[[dict[str, Any]], None] | None = None) -> None:
    """Answer every error of ``app`` as problem+json, and document them so."""
    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.openapi = lambda: _openapi(app, extend)  # type: ignore[method-assign]

    @app.middleware("http")
    async def _unexpected(request: Request, call_next: Any) -> Any:
        try:
            return await call_next(request)
        except Exception as error:  # the last line of defence: log it, answer without a traceback
            too_large = _body_too_large(error)
            if too_large is not None:  # a client's doing, not ours: nothing to log
                return problem(413, "content-too-large", "Content too large", str(too_large))
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            return problem(
                500,
                "internal-error",
                "Internal server error",
                "the service failed unexpectedly; the error was logged",
            )
