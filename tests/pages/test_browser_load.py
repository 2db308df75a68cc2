"""Loading a day file from the board in a real browser (Playwright driving Debian's Chromium).

A server with API clients configured serves the small day (City Motors) at 10:00 local time.
A manager of City Motors and Harwood Garage signs in; Harwood Garage is not loaded yet, so the
index offers its first day file. In the browser's own file picker: a file over the body limit
is stopped in the page with its size and the limit (and, if sent anyway, answered with a page
that says so); a malformed file comes back with the loader's located problems and nothing
stored; ``scenarios/small-shop.yaml`` loads and the browser lands on its drawn board; the audit
log has one entry, by the manager. A post with the browser's cookie but without the form's
CSRF token loads nothing.

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

from tests.api.helpers import add_key, bearer
from tests.api.servers import serving
from tests.pages.browsing import NEEDS_CHROMIUM, chromium, local_tab
from tests.pages.conftest import DATE, ROOT, TEN_LOCAL, WORKSHOP
from tests.pages.test_browser import ARTIFACTS

SMALL_SHOP = ROOT / "scenarios" / "small-shop.yaml"
HARWOOD = "harwood-garage"
LOAD = f"/board/{HARWOOD}/load"
HARWOOD_BOARD = f"/board/{HARWOOD}/{DATE.isoformat()}"

pytestmark = NEEDS_CHROMIUM
pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package (test extra)"
)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, small_day_db: Path) -> Iterator[dict[str, str]]:
    """The small day served on a free port with the key of ``boss``, a manager of City Motors
    and Harwood Garage: ``url`` and ``boss``."""
    from api.clock import ManualClock
    from api.main import create_app
    from api.settings import Settings

    path = tmp_path_factory.mktemp("load-browser") / "board.db"
    shutil.copyfile(small_day_db, path)
    app = create_app(
        Settings(database_url=f"sqlite:///{path}", solver_processes=0), clock=ManualClock(TEN_LOCAL)
    )
    boss = add_key(app, "boss", "manager", [WORKSHOP, HARWOOD])
    with serving(app) as url:
        yield {"url": url, "boss": boss}


@pytest.fixture
def page(shop: dict[str, str]) -> Iterator[Any]:
    """A fresh browser (no cookies) at 1280x800 that may load from the test server only."""
    with chromium() as browser, local_tab(browser, shop["url"]) as tab:
        yield tab


def _api(shop: dict[str, str], path: str) -> httpx.Response:
    return httpx.get(shop["url"] + path, headers=bearer(shop["boss"]), timeout=30)


def _workshops(shop: dict[str, str]) -> set[str]:
    return {w["id"] for w in _api(shop, "/workshops").json()}


def _choose(page: Any, name: str, data: bytes) -> None:
    page.set_input_files(
        "#load-day-file", files=[{"name": name, "mimeType": "application/x-yaml", "buffer": data}]
    )


def test_a_manager_loads_small_shop_through_the_boards_form(
    page: Any, shop: dict[str, str]
) -> None:
    server = shop["url"]
    page.goto(server + "/")
    page.fill("#signin-key", shop["boss"])
    with page.expect_navigation():
        page.click("#signin-button")
    # Harwood Garage is the manager's but not loaded: the index offers its first day file.
    with page.expect_navigation():
        page.click(f".new-workshop a[href='{LOAD}']")
    assert urlsplit(page.url).path == LOAD

    # Over the limit: stopped in the page, nothing sent.
    big = SMALL_SHOP.read_bytes() + b"#" * 70_000
    _choose(page, "big.yaml", big)
    page.click("#load-button")
    size_error = page.locator("#load-size-error")
    size_error.wait_for(state="visible")
    assert "Too large to load: big.yaml comes to 74 KB" in size_error.inner_text()
    assert "at most 64 KB" in size_error.inner_text() and urlsplit(page.url).path == LOAD
    # Sent anyway (a browser without the page's script): the service's own page says so.
    with page.expect_navigation():  # form.submit() skips the page's submit handlers
        page.evaluate("document.getElementById('load-form').submit()")
    assert "File too large" in page.locator("h1").inner_text()
    assert "at most 64 KB" in page.locator(".problem-detail").inner_text()

    # A malformed file: the loader's located problem, and nothing stored.
    page.goto(server + LOAD)
    bad = SMALL_SHOP.read_text(encoding="utf-8").replace('arrival: "08:00"', 'arrival: "8am"', 1)
    _choose(page, "small-shop.yaml", bad.encode())
    with page.expect_navigation():
        page.click("#load-button")
    problems = page.locator("#load-problems li").all_inner_texts()
    assert problems == [
        "small-shop.yaml:80 bookings[0].arrival: expected a time \"HH:MM\", got '8am'"
    ]
    assert "Traceback" not in page.content() and HARWOOD not in _workshops(shop)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "load-problems.png"), full_page=True)

    # The sample file from disk, through the browser's file picker: its board.
    page.set_input_files("#load-day-file", str(SMALL_SHOP))
    with page.expect_navigation():
        page.click("#load-button")
    assert urlsplit(page.url).path == HARWOOD_BOARD and "loaded=1" in page.url
    page.wait_for_selector("#chart-bays[data-drawn=true]", timeout=30_000)
    assert "Day file loaded" in page.locator("#loaded").inner_text()
    assert "Harwood Garage" in page.locator("h1").inner_text()
    page.screenshot(path=str(ARTIFACTS / "board-loaded.png"), full_page=True)
    entries = _api(shop, f"/workshops/{HARWOOD}/audit").json()["entries"]
    assert [(e["action"], e["actor"]) for e in entries] == [("workshop.load", "boss")]

    # The board's form is there for the next day; a post without its token loads nothing.
    page.click("#load-day summary")
    assert page.locator("#load-day #load-day-file").is_visible()
    forged = page.context.request.post(
        server + LOAD,
        multipart={
            "day_file": {"name": "x.yaml", "mimeType": "text/yaml", "buffer": bad.encode()},
            "replace": "on",
        },
        max_redirects=0,
    )
    assert forged.status == 403 and "CSRF" in forged.text()
    assert len(_api(shop, f"/workshops/{HARWOOD}/audit").json()["entries"]) == 1
