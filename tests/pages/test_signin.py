"""Day-board sign-in, CSRF protection of the board's forms, and the pages' security headers.

With API clients configured (no local trial mode), the board is for managers signed in with
their key: the sign-in gives a signed, HttpOnly, SameSite=Lax session cookie (Secure over
HTTPS) that names the client, is refused when altered, forged or too old, and stops working
when the client is revoked or signs out. Every page form must carry the session's CSRF token:
a post without it, or with another session's, changes nothing. Pages are sent with headers
that keep them out of frames, caches and other origins' reach.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from api import sessions
from tests.api.helpers import add_key, bearer, key_secret
from tests.pages.conftest import BOARD, CSRF, DATE, HTML, WORKSHOP, board_client

PLAN = f"/workshops/{WORKSHOP}/plans/{DATE.isoformat()}"
WALK_IN = {"kind": "walk-in", "services": "TYRE", "at": "10:00", "customer": "Csrf Test"}
PAGE_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


@dataclass
class Shop:
    """The app with clients: a manager (``boss``), a booking system's key (``shop``), and an
    API client with the manager's key to read plan versions."""

    app: Any
    boss: str
    shop: str
    api: Any

    def browser(self, **kwargs: Any) -> Any:
        """A new browser: a board client with its own cookies (none yet)."""
        return board_client(self.app, **kwargs)

    def version(self) -> int:
        """The day's plan version now."""
        return int(self.api.get(PLAN).headers["Plan-Version"])


@pytest.fixture
def shop(tmp_path: Path, clock: Any, small_day_db: Path) -> Iterator[Shop]:
    """The small day's app with two API clients configured."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings

    path = tmp_path / "signin.db"
    shutil.copyfile(small_day_db, path)
    app = create_app(Settings(database_url=f"sqlite:///{path}", solver_processes=0), clock=clock)
    boss, booking = add_key(app, "boss", "manager"), add_key(app, "shop", "booking")
    with TestClient(app, raise_server_exceptions=False, headers=bearer(boss)) as api:
        yield Shop(app, boss, booking, api)


def _cookie(answer: Any) -> str:
    """The session's Set-Cookie header of an answer."""
    (found,) = [c for c in answer.headers.get_list("set-cookie") if c.startswith(sessions.COOKIE)]
    return str(found)


def _attributes(set_cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in set_cookie.split(";")[1:]}


def _token(client: Any, path: str = "/signin") -> str:
    found = CSRF.search(client.get(path, headers=HTML).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def _sign_in(client: Any, key: str, target: str = BOARD) -> Any:
    return client.post("/signin", data={"key": key, "next": target}, follow_redirects=False)


def _goes_to_sign_in(client: Any, path: str = BOARD) -> bool:
    answer = client.get(path, headers=HTML, follow_redirects=False)
    return bool(
        answer.status_code == 303
        and answer.headers["location"] == f"/signin?next={quote(path, safe='')}"
    )


def test_strangers_are_sent_to_sign_in_and_scripts_get_401(shop: Shop) -> None:
    stranger = shop.browser()
    assert _goes_to_sign_in(stranger)
    assert _goes_to_sign_in(stranger, "/")
    answer = stranger.get(BOARD, headers={"Accept": "application/json"})
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    posted = stranger.post(f"{BOARD}/events", data=WALK_IN, follow_redirects=False)
    assert posted.status_code == 401
    # An API key is no way onto the board without signing in.
    assert _goes_to_sign_in(shop.browser(headers=bearer(shop.boss)))


def test_a_managers_key_signs_in_with_a_signed_http_only_cookie(shop: Shop) -> None:
    browser = shop.browser()
    before = _token(browser)  # the first page made a session (not signed in)
    answer = _sign_in(browser, shop.boss)
    assert answer.status_code == 303 and answer.headers["location"] == BOARD
    cookie = _cookie(answer)
    assert {"httponly", "path", "samesite", "max-age"} <= _attributes(cookie)
    assert "SameSite=Lax" in cookie and "Max-Age=43200" in cookie  # 12 hours
    assert "secure" not in _attributes(cookie)  # plain HTTP here; see the HTTPS test
    value = cookie.split(";")[0].split("=", 1)[1]
    assert shop.boss not in value and key_secret(shop.boss) not in value
    board = browser.get(BOARD, headers=HTML)
    assert board.status_code == 200 and "Signed in as <strong>boss</strong>" in board.text
    # Signing in starts a new session: a token seen before it is worth nothing after.
    assert _token(browser) != before
    refused = browser.post(f"{BOARD}/events", data={**WALK_IN, "csrf_token": before})
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("key", "says"),
    [("shop", "cannot sign in to the day board"), ("wsk_nonsense", "not valid")],
)
def test_other_keys_cannot_sign_in(shop: Shop, key: str, says: str) -> None:
    browser = shop.browser()
    answer = _sign_in(browser, shop.shop if key == "shop" else key)
    assert answer.status_code == 401 and says in answer.text
    assert not any("Max-Age=43200" in c and "." in c for c in answer.headers.get_list("set-cookie"))
    assert _goes_to_sign_in(browser)


def test_altered_forged_and_old_cookies_are_refused(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from itsdangerous.timed import TimestampSigner

    browser = shop.browser()
    value = _cookie(_sign_in(browser, shop.boss)).split(";")[0].split("=", 1)[1]
    key = shop.app.state.context.token_key
    boss_id = sessions.load(value, key, 3600)
    assert boss_id is not None and boss_id.client_id is not None

    def carrying(cookie: str) -> Any:
        return shop.browser(headers={"Cookie": f"{sessions.COOKIE}={cookie}"})

    assert not _goes_to_sign_in(carrying(value))  # the real cookie works on its own
    altered = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    assert _goes_to_sign_in(carrying(altered))
    forged = sessions.dump(sessions.Session.new(boss_id.client_id), b"another key" * 3)
    assert _goes_to_sign_in(carrying(forged))
    with monkeypatch.context() as m:  # a session signed 13 hours ago: past session_hours
        m.setattr(
            TimestampSigner, "get_timestamp", lambda _: int(__import__("time").time()) - 13 * 3600
        )
        old = sessions.dump(sessions.Session.new(boss_id.client_id), key)
    assert _goes_to_sign_in(carrying(old))


def test_revoking_the_client_or_signing_out_ends_the_session(shop: Shop) -> None:
    from api.services.audit import Actor
    from api.services.clients import revoke_client

    browser = shop.browser()
    _sign_in(browser, shop.boss)
    assert not _goes_to_sign_in(browser)
    out = browser.post("/signout", data={}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert "Max-Age=0" in _cookie(out)
    assert _goes_to_sign_in(browser)

    _sign_in(browser, shop.boss)
    assert not _goes_to_sign_in(browser)
    revoke_client(
        shop.app.state.context.db,
        name="boss",
        now=shop.app.state.context.clock.now(),
        actor=Actor("t"),
    )
    assert _goes_to_sign_in(browser)


def test_over_https_the_cookie_is_secure_and_hsts_is_sent(shop: Shop) -> None:
    browser = shop.browser(base_url="https://testserver")
    answer = _sign_in(browser, shop.boss)
    assert "secure" in _attributes(_cookie(answer))
    page = browser.get(BOARD, headers=HTML)
    assert page.status_code == 200
    assert page.headers["strict-transport-security"].startswith("max-age=")


def test_board_forms_need_the_sessions_csrf_token(shop: Shop) -> None:
    browser = shop.browser()
    _sign_in(browser, shop.boss)
    version = shop.version()
    url = f"{BOARD}/events"
    # No token: what another site's form would send with the manager's cookie.
    missing = browser.post(url, data=WALK_IN, csrf=False, follow_redirects=False, headers=HTML)
    assert missing.status_code == 403 and "CSRF" in missing.text
    assert missing.headers["content-type"].startswith("text/html")
    other = shop.browser()
    _sign_in(other, shop.boss)
    stolen = browser.post(
        url, data={**WALK_IN, "csrf_token": _token(other)}, follow_redirects=False
    )
    assert stolen.status_code == 403
    for path in ("/replan", ""):  # the re-plan button and the sign-out form too
        target = f"{BOARD}{path}" if path else "/signout"
        assert browser.post(target, data={}, csrf=False, follow_redirects=False).status_code == 403
    assert shop.version() == version  # nothing was posted
    assert not _goes_to_sign_in(browser)  # and the sign-out did not happen
    # The board's own form (its token), or a script sending the token as a header.
    token = _token(browser, BOARD)
    posted = browser.post(url, data={**WALK_IN, "csrf_token": token}, follow_redirects=False)
    assert posted.status_code == 303 and "changed=" in posted.headers["location"]
    scripted = browser.post(
        url, data=WALK_IN, csrf=False, headers={sessions.CSRF_HEADER: token}, follow_redirects=False
    )
    assert scripted.status_code == 303
    assert shop.version() == version + 2


def test_the_sign_in_form_needs_its_token_too(shop: Shop) -> None:
    """Otherwise another site could sign a visitor in as the attacker (login CSRF)."""
    browser = shop.browser()
    browser.get("/signin", headers=HTML)
    answer = browser.post("/signin", data={"key": shop.boss}, csrf=False, follow_redirects=False)
    assert answer.status_code == 403
    assert _goes_to_sign_in(browser)


def test_pages_carry_security_headers(shop: Shop) -> None:
    browser = shop.browser()
    _sign_in(browser, shop.boss)
    answers = {
        "sign-in": browser.get("/signin", headers=HTML),
        "index": browser.get("/", headers=HTML),
        "board": browser.get(BOARD, headers=HTML),
        "sheets": browser.get(f"{BOARD}/sheets", headers=HTML),
        "what-if": browser.get("/whatif", headers=HTML),
        "not found": browser.get(f"/board/{WORKSHOP}/2031-01-01", headers=HTML),
        "refused": browser.post(f"{BOARD}/replan", data={}, csrf=False, headers=HTML),
    }
    for name, answer in answers.items():
        assert answer.headers["content-type"].startswith("text/html"), name
        for header, value in PAGE_HEADERS.items():
            assert answer.headers.get(header) == value, (name, header, answer.headers)
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, name
        assert "form-action 'self'" in csp, name
    assert answers["not found"].status_code == 404 and answers["refused"].status_code == 403
    for export in ("plan.csv", "plan.xlsx"):
        answer = browser.get(f"{BOARD}/{export}")
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "no-store"  # customer names
        assert answer.headers["x-content-type-options"] == "nosniff"
    api = shop.api.get(f"/workshops/{WORKSHOP}/bookings")
    assert api.headers["cache-control"] == "no-store" and api.headers["x-frame-options"] == "DENY"
