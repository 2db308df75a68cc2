"""The day board in a real browser: Playwright driving Debian's Chromium, headless.

One server (uvicorn in a thread, on a free port) serves a temporary SQLite database loaded with
the sample day ``scenarios/city-dealer.yaml``, with the clock standing at 10:30 local time. The
browser may talk to that server only: any other request is aborted and fails the test, so the
charts are shown to work offline. Screenshots are saved under ``artifacts/`` (ignored by git).

Skipped, with the reason, when ``/usr/bin/chromium`` or the ``playwright`` package is missing
(CI installs them: ``apt-get install -y chromium`` and the ``test`` extra).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.servers import free_port
from tests.pages.browsing import NEEDS_CHROMIUM, chromium, local_tab
from tests.pages.conftest import BOARD, CITY_DEALER, DATE, ROOT, WORKSHOP

ARTIFACTS = ROOT / "artifacts"
PLAN = f"/workshops/{WORKSHOP}/plans/{DATE.isoformat()}"
# 10:30 local (Asia/Shanghai): the morning's work is under way.
HALF_PAST_TEN = dt.datetime(2026, 11, 26, 2, 30, tzinfo=dt.UTC)

pytestmark = NEEDS_CHROMIUM
pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package (test extra)"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The whole app on a free port, over a fresh SQLite database with the sample day."""
    import uvicorn

    from api.clock import ManualClock
    from api.main import create_app
    from api.services.workshops import load_day_file
    from api.settings import Settings

    folder = tmp_path_factory.mktemp("browser")
    clock = ManualClock(HALF_PAST_TEN)
    app = create_app(
        Settings(database_url=f"sqlite:///{folder / 'board.db'}", solver_processes=0),
        clock=clock,
    )
    load_day_file(app.state.context.db, CITY_DEALER, replace=False, now=clock.now())
    port = free_port()
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, name="board-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the board server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh tab at 1280x800 that may load from the test server only."""
    with local_tab(browser, server) as tab:
        yield tab


def _plan(server: str) -> dict[str, Any]:
    answer = httpx.get(server + PLAN, timeout=30)
    answer.raise_for_status()
    plan: dict[str, Any] = answer.json()
    return plan


def _ready(plan: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for a in plan["assignments"]:
        out[a["booking"]] = max(out.get(a["booking"], a["end"]), a["end"])
    return out


def _open_board(page: Any, server: str, path: str = BOARD) -> None:
    page.goto(server + path)
    page.wait_for_selector("#chart-bays[data-drawn=true]", timeout=30_000)


def _shot(page: Any, name: str, *, full: bool = False) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=full)
    return path


def test_board_loads_with_one_bar_per_assignment(page: Any, server: str) -> None:
    plan = _plan(server)
    _open_board(page, server)
    assert page.locator("h1").inner_text() == "City Motors 4S Service"
    assert page.locator(".card").count() == 7
    _fits(page, 1280)
    bars = page.locator("#chart-bays .trace.bars .point")
    assert bars.count() == len(plan["assignments"])
    assert _shot(page, "board.png").stat().st_size > 10_000
    _shot(page, "board-full.png", full=True)

    box = bars.first.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hover = page.locator(".hoverlayer .hovertext")
    hover.wait_for(timeout=5_000)
    text = hover.text_content() or ""
    assert "promised" in text and re.search(r"R\d+", text)

    page.click("#tab-techs")
    page.wait_for_selector("#chart-techs[data-drawn=true]")
    assert page.locator("#chart-techs .trace.bars .point").count() == len(plan["assignments"])
    _shot(page, "board-technicians.png")

    page.click("#tab-table")
    rows = page.locator("#plan-table tbody tr")
    assert rows.count() == len(plan["assignments"])
    page.click("#tab-bays")  # the remembered tab is the first again for the next tests


def test_unscheduled_list_matches_the_plan(page: Any, server: str) -> None:
    _open_board(page, server)
    # A walk-in at 18:40 for a major service (two hours on a lift) cannot be finished today.
    page.click("#event-walk-in summary")
    form = page.locator("#event-walk-in form")
    form.locator("input[name=services][value=MAJOR]").check()
    form.locator("input[name=customer]").fill("Late Customer")
    form.locator("input[name=at]").fill("18:40")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    page.wait_for_selector("#chart-bays[data-drawn=true]")
    plan = _plan(server)
    assert plan["unscheduled"], "the late walk-in should be left unscheduled"
    listed = page.locator("#unscheduled li").evaluate_all(
        "items => items.map(li => li.dataset.booking)"
    )
    assert sorted(listed) == sorted(u["booking"] for u in plan["unscheduled"])
    for u in plan["unscheduled"]:
        item = page.locator(f'#unscheduled li[data-booking="{u["booking"]}"]')
        assert u["reason"] in item.inner_text()
    assert page.locator(".card[data-kpi=unscheduled] .card-value").inner_text() == str(
        len(plan["unscheduled"])
    )


def test_overrun_event_re_plans_and_highlights_the_moved_promises(page: Any, server: str) -> None:
    before = _plan(server)
    _open_board(page, server)
    page.click("#event-overrun summary")
    form = page.locator("#event-overrun form")
    booking = form.locator("select[name=booking]").input_value()  # the first car running now
    assert "running" in form.locator("select[name=booking] option").first.inner_text()
    form.locator("input[name=minutes]").fill("60")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    page.wait_for_selector("#chart-bays[data-drawn=true]")
    assert "changed=" in page.url and "cause=overrun" in page.url

    after = _plan(server)
    old, new = _ready(before), _ready(after)
    known = old.keys() | {u["booking"] for u in before["unscheduled"]}
    moved = {b for b in old.keys() | new.keys() if old.get(b) != new.get(b) and b in known}
    # The car that overran is ready later even when the overrun operation is its last, which
    # keeps its planned times in the plan.
    moved.add(booking)
    assert "overrun" in page.locator("#changes").inner_text()
    shown = page.locator("#moves-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.booking)"
    )
    assert set(shown) == moved
    placed = {a["booking"] for a in after["assignments"]}
    page.click("#tab-table")
    highlighted = page.locator("#plan-table tr.moved").evaluate_all(
        "rows => rows.map(r => r.dataset.booking)"
    )
    assert set(highlighted) == moved & placed
    colour = page.locator("#plan-table tr.moved td").first.evaluate(
        "td => getComputedStyle(td.parentElement).backgroundColor"
    )
    assert colour not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")
    page.click("#tab-bays")
    outlined = page.evaluate(
        """() => document.getElementById('chart-bays').data.flatMap(
            t => t.text.filter((_, i) => t.marker.line.width[i] > 1))"""
    )
    moved_operations = [a["booking"] for a in after["assignments"] if a["booking"] in moved]
    assert sorted(outlined) == sorted(moved_operations)
    _shot(page, "board-after-overrun.png")


def test_what_if_page_shows_an_interval_for_each_kpi(page: Any, server: str) -> None:
    from api.services import board

    names = {s.name for s in board.whatif_scenarios(board.default_whatif_dir())}
    if "express-lane" not in names:
        pytest.skip("scenarios/whatif/express-lane.yaml is not there")
    page.goto(server + "/whatif")
    if page.locator("#whatif-unavailable").count():
        pytest.skip("the what-if engine is not available in this build")
    page.check("input[name=scenario][value=express-lane]")
    page.fill("input[name=replications]", "3")
    with page.expect_navigation(timeout=120_000):
        page.click("#whatif-run")
    page.wait_for_selector("#chart-whatif[data-drawn=true]", timeout=30_000)
    rows = page.locator("#whatif-table tbody tr")
    assert rows.count() >= 5
    intervals = page.locator("#whatif-table td.interval").all_inner_texts()
    assert len(intervals) == rows.count()
    assert all(re.fullmatch(r"\[[+-][\d.,]+, [+-][\d.,]+\]( pp)?", t) for t in intervals)
    assert page.locator("#chart-whatif g.errorbar").count() == rows.count()
    _shot(page, "whatif.png", full=True)


@pytest.mark.parametrize(
    "path",
    ["/board/nowhere/2026-11-26", f"/board/{WORKSHOP}/2031-01-01", f"/board/{WORKSHOP}/x"],
)
def test_unknown_workshops_and_days_are_404_pages(page: Any, server: str, path: str) -> None:
    answer = page.goto(server + path)
    assert answer is not None and answer.status == 404
    assert page.locator("h1").inner_text() == "Not found"
    assert "Traceback" not in page.content()


def _fits(page: Any, width: int) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the board scrolls sideways at {width}px"
    chart = page.locator("#chart-bays").bounding_box()
    assert chart is not None and chart["x"] + chart["width"] <= width


def test_board_fits_a_tablet(page: Any, server: str) -> None:
    page.set_viewport_size({"width": 820, "height": 1180})
    _open_board(page, server)
    _fits(page, 820)
    _shot(page, "board-tablet.png", full=True)


def test_job_sheets_print_one_page_per_technician(page: Any, server: str) -> None:
    page.goto(f"{server}{BOARD}/sheets")
    sheets = page.locator("article.sheet")
    technicians = sheets.count()
    assert technicians == 9  # every technician of City Motors gets a sheet
    page.emulate_media(media="print")
    breaks = sheets.evaluate_all("els => els.map(e => getComputedStyle(e).breakAfter)")
    assert breaks[:-1] == ["page"] * (technicians - 1)
    assert page.locator(".topbar").is_hidden()
    pdf = page.pdf(format="A4")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages >= technicians
