"""Who may do what: one table from route to permission, applied by one dependency.

Every request is answered for a *principal*: an API client (``Authorization: Bearer <key>``
on the JSON API), a manager signed in to the day board (a signed session cookie on the pages),
or, while no API client is configured, the local user of a trial install (requests from this
machine only; see ``Settings.local_mode``). ``authorize``, installed on every route of the app,
looks the matched route up in ``PERMISSIONS`` and checks, in this order:

1. who is asking: no or bad credentials answer 401 (a page sends a browser to the sign-in);
2. the role: a role the rule does not list answers 403, whatever the ids in the path;
3. the scope: a workshop outside the client's workshops answers 404 exactly as an unknown
   workshop does, and a booking client's view of holds and bookings is limited to its own
   (another client's hold answers as an unknown hold), so no answer tells whether an id
   exists where the client may not look;
4. the client's rate limit for slot searches and hold requests (429 with ``Retry-After``);
5. on page forms, the CSRF token (403 without a valid one).

A route missing from the table is refused (403) and ``create_app`` will not start with one:
adding a route means deciding who may call it. Routes get the principal from
``request.state`` (``PrincipalDep``) only to shape answers: the rows a booking client owns,
customer data for managers, the actor of audit entries.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import quote

import fastapi.routing
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from api import forms, problems, sessions
from api.db.models import BookingRow, HoldRow
from api.ratelimit import RateLimiter
from api.schemas import HOLD_ID_PATTERN
from api.services import clients
from api.services.audit import Actor
from api.services.clients import Client, Role
from api.services.context import Context
from api.services.errors import (
    Forbidden,
    NotFound,
    ServiceError,
    TooManyRequests,
    Unauthorized,
)

log = logging.getLogger("workshop.access")
HOLD_ID = re.compile(HOLD_ID_PATTERN)
_FORWARDED = ("forwarded", "x-forwarded-for", "x-real-ip")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request is answered for."""

    name: str
    role: Role
    client_id: int | None  # None: the local user of a trial install
    workshops: frozenset[str] | None  # None: every workshop

    @classmethod
    def of(cls, client: Client) -> Principal:
        """The principal of an API client."""
        return cls(client.name, client.role, client.id, client.workshops)

    @property
    def local(self) -> bool:
        """Whether this is the local trial mode's user (no API clients configured)."""
        return self.client_id is None

    @property
    def actor(self) -> Actor:
        """The principal as the audit log names it."""
        return Actor(self.name, self.client_id)

    @property
    def owner(self) -> int | None:
        """The client whose holds and bookings alone this principal sees (booking clients);
        None: every one in its workshops."""
        return self.client_id if self.role is Role.BOOKING else None

    @property
    def sees_personal_data(self) -> bool:
        """Whether customer and vehicle fields are shown (managers; a booking client sees
        them on its own bookings only, which ``owner`` already limits it to)."""
        return self.role in (Role.MANAGER, Role.BOOKING)

    @property
    def sees_technicians(self) -> bool:
        """Whether technician ids and names are shown (not to booking clients)."""
        return self.role is not Role.BOOKING

    def sees(self, workshop_id: str) -> bool:
        """Whether the workshop is in this principal's scope."""
        return self.workshops is None or workshop_id in self.workshops


LOCAL = Principal("local", Role.MANAGER, None, None)

Scope = Literal["none", "workshop", "hold", "booking"]
Limit = Literal["slots", "holds"]


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may call one route.

    ``roles`` empty: public (no credentials). ``scope``: which path ids must be in the
    principal's scope (``workshop``: ``{workshop_id}``; ``hold``: the hold's workshop and, for
    booking clients, its owner; ``booking``: the workshop and, for booking clients, the
    booking's owner). ``limit``: the rate-limit bucket. ``page``: a day-board page (session
    cookie instead of a bearer key, HTML errors, CSRF token on POST).
    """

    roles: frozenset[Role] = frozenset()
    scope: Scope = "none"
    limit: Limit | None = None
    page: bool = False

    @property
    def public(self) -> bool:
        """Whether anyone may call it."""
        return not self.roles


EVERYONE = frozenset(Role)
BOOKERS = frozenset({Role.BOOKING, Role.MANAGER})
STAFF = frozenset({Role.MANAGER, Role.VIEWER})
MANAGERS = frozenset({Role.MANAGER})
PUBLIC = Rule()
PUBLIC_PAGE = Rule(page=True)
MANAGER_PAGE = Rule(MANAGERS, page=True)
DAY_PAGE = Rule(MANAGERS, "workshop", page=True)

PERMISSIONS: Mapping[tuple[str, str], Rule] = {
    # probes and the API's description
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    # workshops and the booking flow
    ("GET", "/workshops"): Rule(EVERYONE),
    ("GET", "/workshops/{workshop_id}"): Rule(EVERYONE, "workshop"),
    ("GET", "/workshops/{workshop_id}/slots"): Rule(EVERYONE, "workshop", "slots"),
    ("POST", "/workshops/{workshop_id}/holds"): Rule(BOOKERS, "workshop", "holds"),
    ("GET", "/holds/{hold_id}"): Rule(EVERYONE, "hold"),
    ("DELETE", "/holds/{hold_id}"): Rule(BOOKERS, "hold", "holds"),
    ("POST", "/holds/{hold_id}/confirm"): Rule(BOOKERS, "hold", "holds"),
    ("GET", "/workshops/{workshop_id}/bookings"): Rule(EVERYONE, "workshop"),
    ("GET", "/workshops/{workshop_id}/bookings/{booking_id}"): Rule(EVERYONE, "booking"),
    ("DELETE", "/workshops/{workshop_id}/bookings/{booking_id}"): Rule(BOOKERS, "booking"),
    # days loaded, plans, re-planning, day events, the audit log
    ("GET", "/workshops/{workshop_id}/plans/{date}"): Rule(STAFF, "workshop"),
    ("GET", "/workshops/{workshop_id}/plans/{date}/versions/{version}"): Rule(STAFF, "workshop"),
    ("POST", "/workshops/{workshop_id}/plans/{date}"): Rule(MANAGERS, "workshop"),
    ("POST", "/workshops/{workshop_id}/days/{date}/events"): Rule(MANAGERS, "workshop"),
    ("GET", "/workshops/{workshop_id}/audit"): Rule(MANAGERS, "workshop"),
    ("PUT", "/workshops/{workshop_id}/days/{date}"): Rule(MANAGERS, "workshop"),
    # the day board (pages)
    ("GET", "/signin"): PUBLIC_PAGE,
    ("POST", "/signin"): PUBLIC_PAGE,
    ("POST", "/signout"): PUBLIC_PAGE,
    ("GET", "/assets/{name}"): PUBLIC_PAGE,
    ("GET", "/"): MANAGER_PAGE,
    ("GET", "/board"): MANAGER_PAGE,
    ("GET", "/board/{workshop_id}/{date}"): DAY_PAGE,
    ("POST", "/board/{workshop_id}/{date}/replan"): DAY_PAGE,
    ("POST", "/board/{workshop_id}/{date}/events"): DAY_PAGE,
    ("GET", "/board/{workshop_id}/load"): DAY_PAGE,
    ("POST", "/board/{workshop_id}/load"): DAY_PAGE,
    ("GET", "/board/{workshop_id}/{date}/sheets"): DAY_PAGE,
    ("GET", "/board/{workshop_id}/{date}/plan.csv"): DAY_PAGE,
    ("GET", "/board/{workshop_id}/{date}/plan.xlsx"): DAY_PAGE,
    ("GET", "/board/{rest:path}"): MANAGER_PAGE,
    ("GET", "/whatif"): MANAGER_PAGE,
    ("POST", "/whatif"): MANAGER_PAGE,
}


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """The (method, path) of every route of ``app``, through included routers (HEAD answers
    as GET, so it is left out).

    FastAPI 0.16x keeps included routers as branches of ``app.routes`` and walks them with
    ``fastapi.routing.iter_route_contexts``; earlier versions copy the routes into
    ``app.routes``. Routers are included without prefixes, so a route's path is its full path.
    """
    walk = getattr(fastapi.routing, "iter_route_contexts", None)
    found: list[tuple[str | None, set[str] | None]] = []
    if walk is not None:
        found = [(c.path, c.methods) for c in walk(app.routes)]
    else:
        found = [(r.path, r.methods) for r in app.routes if isinstance(r, Route)]
    return [
        (method, path)
        for path, methods in found
        if path is not None
        for method in sorted((methods or set()) - {"HEAD"})
    ]


def unlisted_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Routes of ``app`` that have no rule (``create_app`` refuses to start with any)."""
    return [key for key in app_routes(app) if key not in PERMISSIONS]


def rule_of(request: Request) -> Rule | None:
    """The rule of the route a request matched (None before routing or for no route)."""
    route = request.scope.get("route")
    if not isinstance(route, Route):
        return None
    method = "GET" if request.method == "HEAD" else request.method
    return PERMISSIONS.get((method, route.path))


def _context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


def _from_this_machine(request: Request) -> bool:
    """Whether the request came over loopback, not forwarded by a proxy."""
    if request.client is None or any(h in request.headers for h in _FORWARDED):
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def _bearer(request: Request) -> str | None:
    """The key of an ``Authorization: Bearer`` header; Unauthorized for another scheme."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("use 'Authorization: Bearer <API key>'")
    return key.strip()


def _check_scope(
    session: Session, principal: Principal, rule: Rule, params: Mapping[str, Any]
) -> None:
    """NotFound, worded as the service words an unknown id, for ids out of scope."""
    workshop_id = params.get("workshop_id")
    in_path = rule.scope in ("workshop", "booking") and isinstance(workshop_id, str)
    if in_path and not principal.sees(str(workshop_id)):
        raise NotFound(f"no workshop {workshop_id!r}")
    if rule.scope == "hold":
        hold_id = str(params.get("hold_id", ""))
        if not HOLD_ID.fullmatch(hold_id):
            return  # an id no hold can have: the route's validation answers 422
        found = session.execute(
            select(HoldRow.workshop_id, HoldRow.client_id).where(HoldRow.id == hold_id)
        ).first()
        if found is None or not principal.sees(found[0]):
            raise NotFound(f"no hold {hold_id!r}")
        if principal.owner is not None and found[1] != principal.owner:
            raise NotFound(f"no hold {hold_id!r}")
    if rule.scope == "booking" and principal.owner is not None:
        booking_id = str(params.get("booking_id", ""))
        owner = session.scalar(
            select(BookingRow.client_id).where(
                BookingRow.workshop_id == workshop_id, BookingRow.booking_id == booking_id
            )
        )
        if owner != principal.owner:
            raise NotFound(f"workshop {workshop_id!r} has no booking {booking_id!r}")


def _api_principal(ctx: Context, request: Request, key: str | None, rule: Rule) -> Principal:
    """The principal of a JSON API request, its scope checked (runs in a worker thread)."""
    with ctx.db.read() as session:
        if key is not None:
            client = clients.authenticate(session, key)
            if client is None:
                raise Unauthorized("the API key is not valid (unknown, revoked or mistyped)")
            principal = Principal.of(client)
        elif (
            ctx.settings.local_mode
            and _from_this_machine(request)
            and not clients.any_active(session)
        ):
            principal = LOCAL
        else:
            raise Unauthorized(
                "this operation needs an API key: send 'Authorization: Bearer <key>' "
                "(an administrator makes keys with 'workshop clients add')"
            )
        if principal.role not in rule.roles:
            raise Forbidden(f"a {principal.role} client may not do this")
        _check_scope(session, principal, rule, request.path_params)
        return principal


class SignInRequired(Unauthorized):
    """A page that needs a signed-in manager; browsers are sent to the sign-in page."""


def _page_principal(
    ctx: Context, request: Request, session: sessions.Session | None, rule: Rule
) -> Principal | None:
    """The principal of a page request (None on public pages), its scope checked."""
    with ctx.db.read() as db_session:
        principal: Principal | None = None
        if session is not None and session.client_id is not None:
            client = clients.active_client(db_session, session.client_id)
            if client is not None and client.role is Role.MANAGER:
                principal = Principal.of(client)
        if (
            principal is None
            and ctx.settings.local_mode
            and _from_this_machine(request)
            and not clients.any_active(db_session)
        ):
            principal = LOCAL
        if rule.public:
            return principal
        if principal is None:
            raise SignInRequired("sign in with a manager's API key at /signin")
        if principal.role not in rule.roles:
            raise Forbidden(f"a {principal.role} client may not do this")
        _check_scope(db_session, principal, rule, request.path_params)
        return principal


async def _csrf_token_sent(request: Request) -> str | None:
    """The CSRF token of a form post (form field, url-encoded or multipart as the day-file
    upload is, or header for scripts)."""
    header = request.headers.get(sessions.CSRF_HEADER)
    if header:
        return header
    body = await request.body()  # cached: the route reads the same bytes again
    fields = forms.form_fields(body, request.headers.get("content-type", ""))
    values = fields.get(sessions.CSRF_FIELD)
    return values[0] if values else None


async def authorize(request: Request) -> None:
    """The one access check, run before every route (see the module docstring)."""
    rule = rule_of(request)
    if rule is None:
        route = request.scope.get("route")
        log.error("no access rule for %s %s", request.method, getattr(route, "path", "?"))
        raise Forbidden("this operation has no access rule")
    ctx = _context(request)
    principal: Principal | None = None
    if rule.page:
        key = ctx.token_key
        hours = ctx.settings.session_hours
        session = sessions.load(request.cookies.get(sessions.COOKIE), key, hours * 3600)
        if session is None:  # a first visit: a session to bind this page's forms to
            session = sessions.Session.new()
            request.state.set_session = sessions.dump(session, key)
        principal = await run_in_threadpool(_page_principal, ctx, request, session, rule)
        request.state.session = session
        request.state.csrf_token = sessions.csrf_token(session, key)
        if request.method == "POST":
            sent = await _csrf_token_sent(request)
            if not sessions.csrf_valid(session, key, sent):
                raise Forbidden("the form's CSRF token is missing or wrong; reload the page")
    elif not rule.public:
        bearer = _bearer(request)
        principal = await run_in_threadpool(_api_principal, ctx, request, bearer, rule)
    if principal is not None and rule.limit is not None and principal.client_id is not None:
        limits = {
            "slots": ctx.settings.slot_searches_per_minute,
            "holds": ctx.settings.holds_per_minute,
        }
        wait = _limiter(ctx).take(principal.client_id, rule.limit, limits[rule.limit])
        if wait > 0:
            raise TooManyRequests(
                f"rate limit: at most {limits[rule.limit]} {rule.limit} requests a minute; "
                f"retry in {wait:.0f} s",
                retry_after=wait,
            )
    request.state.principal = principal
    request.state.authorized = True


def _limiter(ctx: Context) -> RateLimiter:
    return ctx.cache("rate-limits", RateLimiter, RateLimiter)


def current_principal(request: Request) -> Principal:
    """The principal ``authorize`` found (only on routes that need one)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise Unauthorized("this operation needs credentials")
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def sign_in_redirect(request: Request) -> RedirectResponse:
    """Send a browser to the sign-in page, to come back here after."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)


_DESCRIPTIONS = {
    401: "No API key, or one that is not valid",
    403: "The client's role may not do this",
    404: "Unknown id, or one outside the client's workshops",
    413: "Request body too large",
    429: "Rate limit or open-hold cap reached; see Retry-After",
}


def document(doc: dict[str, Any]) -> None:
    """Add the bearer scheme, each operation's security and its access errors to an OpenAPI
    document, from ``PERMISSIONS`` (so the document says what ``authorize`` does)."""
    schemes = doc.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["apiKey"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key made by 'workshop clients add' (shown once). With no "
        "clients configured, requests from the server's own machine need none.",
    }
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            rule = PERMISSIONS.get((method.upper(), path))
            if rule is None:
                continue
            responses = operation.setdefault("responses", {})
            codes: list[int] = []
            if rule.public:
                operation["security"] = []
            else:
                operation["security"] = [{"apiKey": []}]
                codes += [401, 403]
            if rule.scope != "none":
                codes.append(404)
            if rule.limit is not None:
                codes.append(429)
            if "requestBody" in operation:
                codes.append(413)
            for code in codes:
                responses.setdefault(str(code), {"description": _DESCRIPTIONS[code]})


def install(app: FastAPI) -> None:
    """Check that every route of ``app`` has a rule, and answer refusals: problem+json on the
    API, problem pages (or the sign-in page) for browsers on the board.

    ``authorize`` itself is one of the app's dependencies (``create_app``), so FastAPI runs
    it before the route's own parameters are read.
    """
    missing = unlisted_routes(app)
    if missing:
        raise RuntimeError(f"routes without an access rule in api.access.PERMISSIONS: {missing}")
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


async def _refusal(request: Request) -> Response | None:
    """The access check's refusal of a request refused before ``authorize`` ran, else None.

    FastAPI reads a JSON body before it runs any dependency, so a body that is not JSON at
    all would otherwise be answered 422 to a caller with no key: access is decided first.
    """
    if getattr(request.state, "authorized", False) or rule_of(request) is None:
        return None
    try:
        await authorize(request)
    except ServiceError as exc:
        return await _service_error(request, exc)
    return None


async def _validation_error(request: Request, exc: Exception) -> Response:
    return await _refusal(request) or await problems.validation_error(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # a body FastAPI could not read
        refused = await _refusal(request)
        if refused is not None:
            return refused
    return await problems.http_error(request, exc)


async def _service_error(request: Request, exc: Exception) -> Response:
    from api.pages.render import problem_page, wants_html

    assert isinstance(exc, ServiceError)
    rule = rule_of(request)
    if rule is not None and rule.page and not exc.replayed:
        if isinstance(exc, SignInRequired) and request.method == "GET" and wants_html(request):
            return sign_in_redirect(request)
        answer = problem_page(request, exc.status, exc.type, exc.title, exc.detail)
        answer.headers.update(exc.headers)
        return answer
    return await problems.service_error(request, exc)
