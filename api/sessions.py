"""Day-board sign-in: a signed session cookie, and CSRF tokens bound to it.

The cookie holds a random session id and, once a manager has signed in with their key, the
client's id; it is signed and timestamped with itsdangerous under the key every process shares,
so no process keeps session state and a cookie older than ``session_hours`` is refused. The
client is looked up on every request, so revoking it ends its sign-ins at once.

Every page form carries a CSRF token, the HMAC of the session id: another site can make a
browser post to the board, but cannot read the token from our pages. A visitor gets a session
(signed in or not) on their first page, so the sign-in form itself is protected too, and
signing in starts a new session id (no session fixation). The cookie is HttpOnly, SameSite=Lax,
and Secure when the request came over HTTPS (or as ``cookie_secure`` says).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "workshop_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_SALT = "workshop day-board session"


@dataclass(frozen=True, slots=True)
class Session:
    """A board session: its id (what CSRF tokens are bound to) and the signed-in client."""

    sid: str
    client_id: int | None = None

    @classmethod
    def new(cls, client_id: int | None = None) -> Session:
        """A session with a fresh random id."""
        return cls(secrets.token_urlsafe(18), client_id)


def _serializer(key: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt=_SALT)


def dump(session: Session, key: bytes) -> str:
    """The cookie value of a session."""
    return _serializer(key).dumps({"s": session.sid, "c": session.client_id})


def load(value: str | None, key: bytes, max_age_seconds: float) -> Session | None:
    """The session in a cookie value, or None if absent, altered, expired or malformed."""
    if not value:
        return None
    try:
        data = _serializer(key).loads(value, max_age=int(max_age_seconds))
    except BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not isinstance(data, dict):
        return None
    sid, client = data.get("s"), data.get("c")
    if not isinstance(sid, str) or not (client is None or isinstance(client, int)):
        return None
    return Session(sid, client)


def csrf_token(session: Session, key: bytes) -> str:
    """The CSRF token of a session's forms."""
    return hmac.new(key, b"workshop csrf:" + session.sid.encode(), hashlib.sha256).hexdigest()


def csrf_valid(session: Session | None, key: bytes, token: str | None) -> bool:
    """Whether ``token`` is the session's CSRF token (constant-time comparison)."""
    if session is None or not token:
        return False
    return hmac.compare_digest(csrf_token(session, key), token)


def cookie(value: str, *, max_age: int, secure: bool) -> str:
    """A ``Set-Cookie`` value for the session cookie (``max_age`` 0 deletes it)."""
    parts = [f"{COOKIE}={value}", "Path=/", "HttpOnly", "SameSite=Lax", f"Max-Age={max_age}"]
    return "; ".join([*parts, "Secure"] if secure else parts)
