"""Rendering for the web pages: the Jinja2 environment, static assets and HTML problem pages.

Templates are rendered with autoescape on for every file, so a customer called
``<script>`` is shown, never run. Figures go into pages as JSON inside
``<script type="application/json">`` (Jinja's ``tojson`` escapes ``<``, ``>`` and ``&``), and
the only scripts are our own ``board.js`` and the plotly.js bundled in the installed ``plotly``
package, both served by the app: the pages work without any internet access. Every HTML answer
carries a Content-Security-Policy that allows nothing from other origins.

Errors on page routes are problem pages: the same type, title, status and detail as the JSON
API's ``application/problem+json``, as HTML for browsers and as problem+json for other clients.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.problems import problem
from api.services.board import TIGHT_MINUTES

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PLOTLY = "plotly.min.js"
ASSETS = {"board.css": "text/css", "board.js": "text/javascript", PLOTLY: "text/javascript"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# plotly.js sets inline styles on the elements it draws, hence 'unsafe-inline' for style only.


@dataclass(frozen=True, slots=True)
class Asset:
    """A static file as served: body, gzip body, media type and a content hash for caching."""

    body: bytes
    gzipped: bytes
    media_type: str
    digest: str


@functools.cache
def asset(name: str) -> Asset:
    """A static asset by name (KeyError for names that are not assets)."""
    media_type = ASSETS[name]
    if name == PLOTLY:
        from plotly.offline import get_plotlyjs

        body = get_plotlyjs().encode("utf-8")
    else:
        body = (STATIC / name).read_bytes()
    return Asset(
        body,
        gzip.compress(body, compresslevel=6, mtime=0),
        media_type,
        hashlib.sha256(body).hexdigest()[:16],
    )


def asset_url(name: str) -> str:
    """The asset's URL, versioned by its content so browsers may cache it for good."""
    return f"/assets/{name}?v={asset(name).digest}"


def asset_response(request: Request, name: str) -> Response:
    """Serve an asset: gzip when the browser accepts it, 304 when it already has it."""
    found = asset(name)
    etag = f'"{found.digest}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=31536000, immutable",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(found.gzipped, media_type=found.media_type, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


def _minutes(value: Any) -> str:
    return "-" if value is None else f"{float(value):.0f} min"


def _spec(size: float) -> str:
    """Digits that suit a figure of this size: 6,712 / 89.7 / 2.56 / 0.566."""
    return ",.0f" if size >= 100 else (".1f" if size >= 10 else (".2f" if size >= 0.1 else ".3f"))


def _figure(value: Any, *, sign: bool = False) -> str:
    """A measured figure for people, never ``6.71e+03``."""
    if value is None or not math.isfinite(float(value)):
        return "-"
    return format(float(value), ("+" if sign else "") + _spec(abs(float(value))))


def _interval(low: Any, high: Any) -> str:
    """``[-14.0, -6.0]``: both ends with the digits of the larger one, signed."""
    ends = [float(x) for x in (low, high) if x is not None]
    if len(ends) != 2 or not all(math.isfinite(x) for x in ends):
        return "-"
    spec = "+" + _spec(max(abs(x) for x in ends))
    return f"[{format(ends[0], spec)}, {format(ends[1], spec)}]"


def _signed(value: Any) -> str:
    return _figure(value, sign=True)


def _number(value: Any) -> str:
    return _figure(value)


@functools.cache
def environment() -> Environment:
    """The pages' Jinja2 environment: autoescape on, undefined names are errors."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["asset"] = asset_url
    env.globals["tight_minutes"] = TIGHT_MINUTES
    env.filters["minutes"] = _minutes
    env.filters["signed"] = _signed
    env.filters["number"] = _number
    env.globals["interval"] = _interval
    env.filters["pct"] = lambda v: "-" if v is None else f"{float(v):.0%}"
    env.filters["urlpart"] = lambda v: quote(str(v), safe="")
    return env


def render(name: str, **context: Any) -> str:
    """Render a template to text."""
    return environment().get_template(name).render(**context)


def page(
    name: str, *, request: Request | None = None, status: int = 200, **context: Any
) -> HTMLResponse:
    """An HTML page answer with the pages' security headers; with ``request``, its forms get
    the session's CSRF token and the top bar names who is signed in."""
    context.setdefault("standalone", False)
    state = request.state if request is not None else None
    context.setdefault("principal", getattr(state, "principal", None))
    context.setdefault("csrf_token", getattr(state, "csrf_token", ""))
    return HTMLResponse(
        render(name, **context),
        status_code=status,
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


def wants_html(request: Request) -> bool:
    """Whether the client asked for HTML (a browser) rather than JSON."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/xhtml+xml" in accept


def problem_page(request: Request, status: int, slug: str, title: str, detail: str) -> Response:
    """A problem answer: an HTML page for browsers, ``application/problem+json`` otherwise."""
    if not wants_html(request):
        return problem(status, slug, title, detail)
    return page(
        "problem.html",
        request=request,
        status=status,
        problem={"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail},
    )
