"""The HTTP service: ``create_app(settings)`` builds the FastAPI app over the service functions.

The app is stateless apart from its database, so several processes can serve one PostgreSQL
database side by side. On start it migrates the schema and reads the shared token key; its
lifespan owns the solver's worker processes. Every route runs ``api.access.authorize`` first
(who is asking, may they, within their workshops, within their rate), and ``api.guard.Guard``
wraps the whole app (body size limit, security headers). Logging is the caller's to configure
(``workshop serve`` does).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api import access, pages, problems
from api.clock import Clock, SystemClock
from api.db.migrate import upgrade
from api.db.session import Database
from api.guard import Guard
from api.routers import audit, days, health, plans, workshops
from api.services.context import Context
from api.services.solver import SolverPool
from api.services.tokens import signing_key
from api.settings import Settings

DESCRIPTION = """Exact booking slots that are never double-booked, daily plans and re-planning
for a dealership service workshop. Times are ISO 8601 with offset; errors are
application/problem+json (RFC 9457)."""


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """The service app for ``settings`` (read from the environment when not given)."""
    settings = settings or Settings()
    db = Database(settings.database_url, pool_size=settings.pool_size)
    if settings.migrate_on_start:
        upgrade(db)
    ctx = Context(
        db=db,
        clock=clock or SystemClock(),
        settings=settings,
        token_key=signing_key(db, settings.secret_key),
        solver=SolverPool(settings.solver_processes),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Workers belong to one run of the app: a pool shut down by an earlier run (a test
        # client opened twice) is replaced, and no request ever creates one on the fly.
        ctx.solver.shutdown()
        ctx.solver = SolverPool(settings.solver_processes)
        yield
        ctx.solver.shutdown()
        db.dispose()

    app = FastAPI(
        title="Workshop scheduler",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(access.authorize)],
    )
    app.state.context = ctx
    problems.install(app, extend=access.document)
    app.include_router(health.router)
    app.include_router(workshops.router)
    app.include_router(plans.router)
    app.include_router(days.router)
    app.include_router(audit.router)
    app.include_router(pages.router)
    access.install(app)
    app.add_middleware(
        Guard,
        max_body_bytes=settings.max_body_bytes,
        session_seconds=int(settings.session_hours * 3600),
        secure=settings.cookie_secure,
    )
    return app
