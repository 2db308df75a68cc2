"""The outermost layer of the app: request body size limit, security headers, session cookie.

A pure ASGI middleware, so it sees every answer, errors included. A body larger than
``max_body_bytes`` is refused with 413 before it is read when its ``Content-Length`` says so,
and as soon as the bytes read pass the limit otherwise (a chunked upload), so a client cannot
make the service buffer megabytes. A browser (one that asks for HTML, as the day board's
upload form does) gets the refusal as a page that says how large a file may be. Every answer
gets ``X-Content-Type-Options: nosniff`` and
``X-Frame-Options: DENY``, and ``Cache-Control: no-store`` unless it says otherwise (answers
carry customer data and must not sit in shared caches); a board session made during the request
(``authorize``) is sent as its cookie.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import sessions
from api.problems import MEDIA_TYPE, BodyTooLarge

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Guard:
    """Limits request bodies and adds security headers (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, session_seconds: int, secure: bool | None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.session_seconds = session_seconds
        self.secure = secure

    def _too_large(self) -> str:
        return f"the request body is larger than {self.max_body_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._refuse(scope, send)
            return
        received = 0
        overflowed = refused = False

        async def limited() -> Message:
            nonlocal received, overflowed
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # However the app reports the failed read (FastAPI makes it a 400, an
                    # unhandled error a 500), ``secured`` answers 413 in its place.
                    overflowed = True
                    raise BodyTooLarge(self._too_large())
            return message

        async def secured(message: Message) -> None:
            nonlocal refused
            if refused:
                return
            if overflowed and message["type"] == "http.response.start":
                refused = True
                await self._refuse(scope, send)
                return
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                if scope.get("scheme") == "https":
                    headers["Strict-Transport-Security"] = "max-age=31536000"
                cookie = scope.get("state", {}).get("set_session")
                if cookie and "set-cookie" not in headers:
                    secure = self.secure if self.secure is not None else scope["scheme"] == "https"
                    headers.append(
                        "Set-Cookie",
                        sessions.cookie(cookie, max_age=self.session_seconds, secure=secure),
                    )
            await send(message)

        try:
            await self.app(scope, limited, secured)
        except Exception:
            if not refused:
                raise

    def _too_large_page(self) -> bytes:
        """The 413 page for browsers: the problem in the pages' own look and words."""
        from api.pages.render import render  # the pages import the app's services: late

        limit = self.max_body_bytes
        detail = (
            f"The file sent is too large: this service accepts at most {limit / 1024:.0f} KB "
            f"({limit:,} bytes) in one upload, and nothing was loaded. Choose a smaller file, "
            "or ask the administrator to raise WORKSHOP_MAX_BODY_BYTES."
        )
        problem = {
            "type": "/problems/content-too-large",
            "title": "File too large",
            "status": 413,
            "detail": detail,
        }
        return render(
            "problem.html", problem=problem, standalone=False, principal=None, csrf_token=""
        ).encode("utf-8")

    async def _refuse(self, scope: Scope, send: Send) -> None:
        accept = Headers(scope=scope).get("accept", "")
        if "text/html" in accept:
            from api.pages.render import CSP

            body = self._too_large_page()
            media_type, extra = "text/html; charset=utf-8", [(b"content-security-policy", CSP)]
        else:
            body = json.dumps(
                {
                    "type": "/problems/content-too-large",
                    "title": "Content too large",
                    "status": 413,
                    "detail": self._too_large(),
                }
            ).encode()
            media_type, extra = MEDIA_TYPE, []
        headers = [
            (b"content-type", media_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *((k.lower().encode(), v.encode()) for k, v in _SECURITY_HEADERS.items()),
            *((k, v.encode()) for k, v in extra),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
