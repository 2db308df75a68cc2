"""Signing in to the day board in a real browser (Playwright driving Debian's Chromium).

A server with API clients configured (so no local trial mode) serves the small day at 10:00
local time. The browser is sent to the sign-in page, signs in with a manager's key, posts a
walk-in through the board's own form, and signs out; a post made with the browser's cookies
but without the page's CSRF token (what another site's form would send) changes nothing, and
scripts on the page cannot read the session cookie.

Skipped, with the reason, when ``/usr/bin/chromium`` or the ``playwright`` package is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from api import sessions
from tests.api.helpers import add_key, bearer
from tests.api.servers import serving
from tests.pages.browsing import NEEDS_CHROMIUM, chromium, local_tab
from tests.pages.conftest import BOARD, DATE, TEN_LOCAL, WORKSHOP

PLAN = f"/workshops/{WORKSHOP}/plans/{DATE.isoformat()}"

pytestmark = NEEDS_CHROMIUM
pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package (test extra)"
)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, small_day_db: Path) -> Iterator[dict[str, str]]:
    """The small day served on a free port with a manager's and a booking system's keys:
    ``url``, ``boss`` and ``shop``."""
    from api.clock import ManualClock
    from api.main import create_app
    from api.settings import Settings

    path = tmp_path_factory.mktemp("signin-browser") / "board.db"
    shutil.copyfile(small_day_db, path)
    app = create_app(
        Settings(database_url=f"sqlite:///{path}", solver_processes=0), clock=ManualClock(TEN_LOCAL)
    )
    keys = {"boss": add_key(app, "boss", "manager"), "shop": add_key(app, "shop", "booking")}
    with serving(app) as url:
        yield {"url": url, **keys}


@pytest.fixture
def page(shop: dict[str, str]) -> Iterator[Any]:
    """A fresh browser (no cookies) at 1280x800 that may load from the test server only."""
    with chromium() as browser, local_tab(browser, shop["url"]) as tab:
        yield tab


def _version(shop: dict[str, str]) -> int:
    answer = httpx.get(shop["url"] + PLAN, headers=bearer(shop["boss"]), timeout=30)
    answer.raise_for_status()
    return int(answer.headers["Plan-Version"])


def _sign_in(page: Any, key: str) -> None:
    page.fill("#signin-key", key)
    with page.expect_navigation():
        page.click("#signin-button")


def test_a_manager_signs_in_posts_an_event_and_signs_out(page: Any, shop: dict[str, str]) -> None:
    server = shop["url"]
    page.goto(server + BOARD)
    assert urlsplit(page.url).path == "/signin"  # sent to sign in, to come back after
    _sign_in(page, shop["shop"])  # a booking system's key is not a manager's
    assert "cannot sign in" in page.locator("#signin-error").inner_text()
    _sign_in(page, shop["boss"])
    assert urlsplit(page.url).path == BOARD
    page.wait_for_selector("#chart-bays[data-drawn=true]", timeout=30_000)
    assert "boss" in page.locator(".who").inner_text()

    (cookie,) = [c for c in page.context.cookies() if c["name"] == sessions.COOKIE]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert sessions.COOKIE not in page.evaluate("document.cookie")  # out of scripts' reach

    version = _version(shop)
    forged = page.context.request.post(
        server + f"{BOARD}/events",
        form={"kind": "walk-in", "services": "TYRE", "at": "10:00"},
        max_redirects=0,
    )
    assert forged.status == 403 and "CSRF" in forged.text()
    assert _version(shop) == version

    page.click("#event-walk-in summary")
    form = page.locator("#event-walk-in form")
    form.locator("input[name=services][value=TYRE]").check()
    form.locator("input[name=customer]").fill("Browser Walk-in")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    page.wait_for_selector("#chart-bays[data-drawn=true]", timeout=30_000)
    assert "changed=" in page.url and "cause=walk-in" in page.url
    assert _version(shop) == version + 1

    with page.expect_navigation():
        page.click("#signout")
    assert urlsplit(page.url).path == "/signin"
    page.goto(server + BOARD)
    assert urlsplit(page.url).path == "/signin"
