"""The page routes through a TestClient: what each page shows agrees with the JSON API.

Fast checks of the server side (no browser): the board has one bar and one table row per
assignment of the plan the JSON API serves, the same unscheduled bookings, forms that re-plan
and post events and then highlight the promises that moved, exports with every operation,
job sheets per technician, a what-if page with an interval per key figure, offline assets,
escaping, and 404 problem pages for unknown workshops and days.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from openpyxl import load_workbook

from api.services import board
from scheduler.clock import from_iso, zone
from tests.pages.conftest import BOARD, DATE, HTML, WORKSHOP

PLAN = f"/workshops/{WORKSHOP}/plans/{DATE.isoformat()}"


def _figure(page: str, name: str) -> dict[str, Any]:
    match = re.search(rf'<script type="application/json" id="{name}">(.*?)</script>', page, re.S)
    assert match, f"no figure {name}"
    figure: dict[str, Any] = json.loads(match.group(1))
    return figure


def _bars(figure: dict[str, Any]) -> list[tuple[str, str]]:
    """(row label, booking) of every bar in a Gantt figure."""
    return [(y, text) for t in figure["data"] for y, text in zip(t["y"], t["text"], strict=True)]


def _table_bookings(page: str, table_id: str) -> list[str]:
    match = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.S)
    assert match, f"no table {table_id}"
    return re.findall(r'<tr data-booking="([^"]+)"', match.group(0))


def _ready(plan: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for a in plan["assignments"]:
        out[a["booking"]] = max(out.get(a["booking"], a["end"]), a["end"])
    return out


def test_index_lists_workshops_and_links_their_days(client: Any) -> None:
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "City Motors Service" in page.text
    assert f'href="{BOARD}"' in page.text
    go = client.get("/board", params={"workshop": WORKSHOP, "date": "2026-11-26"})
    assert go.status_code == 200 and go.url.path == BOARD


def test_board_shows_every_assignment_once_in_both_charts_and_the_table(client: Any) -> None:
    plan = client.get(PLAN).json()
    page = client.get(BOARD, headers=HTML)
    assert page.status_code == 200, page.text[:500]
    expected = sorted(a["booking"] for a in plan["assignments"])
    by_bay = _bars(_figure(page.text, "fig-bays"))
    by_tech = _bars(_figure(page.text, "fig-techs"))
    assert sorted(b for _, b in by_bay) == expected
    assert sorted(b for _, b in by_tech) == expected
    assert {row for row, _ in by_bay} <= {a["bay"] for a in plan["assignments"]}
    assert sorted(_table_bookings(page.text, "plan-table")) == expected
    # The KPI cards show the plan's own figures.
    k = plan["kpis"]
    assert f"{k['waiter_mean_wait']:.0f} min" in page.text
    assert plan["status"].title() in page.text


def test_board_bars_sit_at_their_planned_times(client: Any) -> None:
    plan = client.get(PLAN).json()
    figure = _figure(client.get(BOARD, headers=HTML).text, "fig-bays")
    tz = zone("Asia/Shanghai")
    starts = sorted(
        (a["booking"], from_iso(DATE, tz, a["start"]), from_iso(DATE, tz, a["end"]))
        for a in plan["assignments"]
    )
    drawn = []
    for trace in figure["data"]:
        for text, base, length in zip(trace["text"], trace["base"], trace["x"], strict=True):
            hh, mm = base[-5:].split(":")
            start = int(hh) * 60 + int(mm)
            drawn.append((text, start, start + length // 60_000))
    assert sorted(drawn) == starts


def test_unscheduled_list_matches_the_plan(client: Any) -> None:
    # A walk-in at 18:30 for an EV check cannot be placed: the only EV technician left at 17:00.
    posted = client.post(
        f"{BOARD}/events",
        data={"kind": "walk-in", "services": "EVCHECK", "customer": "Late Li", "at": "18:30"},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text[:500]
    plan = client.get(PLAN).json()
    assert plan["unscheduled"], "the late walk-in should be left unscheduled"
    page = client.get(posted.headers["location"], headers=HTML).text
    listed = re.findall(r'<li data-booking="([^"]+)"', page.split('id="unscheduled"')[1])
    assert sorted(listed) == sorted(u["booking"] for u in plan["unscheduled"])
    for u in plan["unscheduled"]:
        assert str(escape(u["reason"])) in page


def test_overrun_form_re_plans_and_highlights_the_moved_promises(client: Any) -> None:
    before = client.get(PLAN).json()
    ten = "2026-11-26T10:00:00+08:00"
    running = next(a for a in before["assignments"] if a["start"] <= ten < a["end"])
    posted = client.post(
        f"{BOARD}/events",
        data={"kind": "overrun", "booking": running["booking"], "minutes": "90", "at": "10:00"},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text[:500]
    assert "changed=" in posted.headers["location"]
    after = client.get(PLAN).json()
    old, new = _ready(before), _ready(after)
    known = old.keys() | {u["booking"] for u in before["unscheduled"]}
    moved = {b for b in old.keys() | new.keys() if old.get(b) != new.get(b) and b in known}
    assert moved, "a 90-minute overrun moves at least one promise"
    page = client.get(posted.headers["location"], headers=HTML).text
    assert 'id="changes"' in page and "overrun" in page
    assert set(_table_bookings(page, "moves-table")) == moved
    placed = {a["booking"] for a in after["assignments"]}
    highlighted = set(re.findall(r'<tr data-booking="([^"]+)" class="moved', page))
    assert highlighted == moved & placed
    outlined = {
        text
        for t in _figure(page, "fig-bays")["data"]
        for text, width in zip(t["text"], t["marker"]["line"]["width"], strict=True)
        if width > 1
    }
    assert outlined == moved & placed


def test_replan_button_stores_a_new_version(client: Any) -> None:
    version = int(client.get(PLAN).headers["Plan-Version"])
    posted = client.post(f"{BOARD}/replan", data={"method": "dispatch"}, follow_redirects=False)
    assert posted.status_code == 303
    assert f"changed={version + 1}" in posted.headers["location"]
    assert int(client.get(PLAN).headers["Plan-Version"]) == version + 1
    page = client.get(posted.headers["location"], headers=HTML).text
    assert f"plan version {version + 1}" in page


def test_a_failed_re_plan_shows_the_board_with_the_reason(client: Any, monkeypatch: Any) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("refusing to store an invalid plan: test")

    monkeypatch.setattr(board, "replan", broken)
    answer = client.post(f"{BOARD}/replan", data={"method": "dispatch"}, headers=HTML)
    assert answer.status_code == 500
    assert "nothing was changed" in answer.text and "Traceback" not in answer.text
    assert 'id="chart-bays"' in answer.text


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"kind": "overrun", "booking": "NOPE", "minutes": "30", "at": "10:00"}, "NOPE"),
        ({"kind": "overrun", "minutes": "30", "at": "10:00"}, "booking"),
        ({"kind": "absent", "technician": "T01", "at": "25:99"}, "at"),
        ({"kind": "part-late", "sku": "OIL-5W30", "at": "10:00"}, "arrives"),
        ({"kind": "earthquake", "at": "10:00"}, "kind"),
    ],
)
def test_a_refused_event_shows_the_board_with_the_reason(
    client: Any, form: dict[str, str], message: str
) -> None:
    version = client.get(PLAN).headers["Plan-Version"]
    answer = client.post(f"{BOARD}/events", data=form, headers=HTML)
    assert 400 <= answer.status_code < 500
    assert answer.headers["content-type"].startswith("text/html")
    assert 'id="action-error"' in answer.text and message in answer.text
    assert "Traceback" not in answer.text
    assert client.get(PLAN).headers["Plan-Version"] == version


@pytest.mark.parametrize(
    "path",
    [
        "/board/nowhere/2026-11-26",
        f"/board/{WORKSHOP}/2031-01-01",
        f"/board/{WORKSHOP}/not-a-day",
        f"/board/{WORKSHOP}/2026-02-30",
        "/board/nowhere/2026-11-26/sheets",
        f"/board/{WORKSHOP}/2031-01-01/plan.csv",
        f"/board/{WORKSHOP}/2031-01-01/plan.xlsx",
        f"/board/{WORKSHOP}/2026-11-26/no-such-page",
        "/assets/secrets.txt",
    ],
)
def test_unknown_workshops_and_days_are_404_problem_pages(client: Any, path: str) -> None:
    page = client.get(path, headers=HTML)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text and "Traceback" not in page.text
    assert 'data-problem-type="/problems/not-found"' in page.text
    problem = client.get(path, headers={"Accept": "application/json"})
    assert problem.status_code == 404
    assert problem.headers["content-type"].startswith("application/problem+json")
    assert problem.json()["status"] == 404 and problem.json()["detail"]


def test_posting_to_an_unknown_day_is_a_404_problem_page(client: Any) -> None:
    answer = client.post(
        "/board/nowhere/2026-11-26/replan", data={"method": "dispatch"}, headers=HTML
    )
    assert answer.status_code == 404 and "no workshop" in answer.text


def test_csv_and_excel_exports_hold_every_operation_and_unscheduled_booking(
    client: Any,
) -> None:
    client.post(
        f"{BOARD}/events",
        data={"kind": "walk-in", "services": "EVCHECK", "customer": "=1+2", "at": "18:30"},
    )
    plan = client.get(PLAN).json()
    answer = client.get(f"{BOARD}/plan.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    scheduled = [r for r in rows if r["status"] == "scheduled"]
    assert len(scheduled) == len(plan["assignments"])
    assert {(r["booking"], r["start"], r["bay"]) for r in scheduled} == {
        (a["booking"], a["start"], a["bay"]) for a in plan["assignments"]
    }
    left = [r for r in rows if r["status"] == "unscheduled"]
    assert [r["booking"] for r in left] == [u["booking"] for u in plan["unscheduled"]]
    assert left[-1]["customer"] == "'=1+2"  # never a formula in a spreadsheet

    xlsx = client.get(f"{BOARD}/plan.xlsx")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["Plan", "Unscheduled", "Key figures"]
    assert book["Plan"].max_row - 1 == len(plan["assignments"])
    assert book["Unscheduled"].max_row - 1 == len(plan["unscheduled"])
    customers = [c.value for c in book["Unscheduled"]["B"]]
    assert "=1+2" in customers
    assert all(c.data_type == "s" for c in book["Unscheduled"]["B"])


def test_job_sheets_give_each_technician_their_jobs_in_order_with_parts(client: Any) -> None:
    plan = client.get(PLAN).json()
    page = client.get(f"{BOARD}/sheets", headers=HTML)
    assert page.status_code == 200
    sheets = re.findall(r'<article class="sheet" data-technician="([^"]+)"', page.text)
    assert sheets == ["T01", "T02", "T03"]
    for chunk in page.text.split('<article class="sheet"')[1:]:
        tech = re.search(r'data-technician="([^"]+)"', chunk)
        assert tech
        mine = sorted(
            (a["start"], a["booking"]) for a in plan["assignments"] if a["technician"] == tech[1]
        )
        assert re.findall(r'<tr data-booking="([^"]+)"', chunk) == [b for _, b in mine]
    assert "OIL-5W30" in page.text  # a minor service's oil is on someone's pick list
    assert 'data-action="print"' in page.text


def test_pages_load_nothing_from_other_origins(client: Any) -> None:
    page = client.get(BOARD, headers=HTML)
    assert "default-src 'self'" in page.headers["content-security-policy"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(not s.startswith(("http:", "https:", "//")) for s in sources)
    script = next(s for s in sources if "plotly" in s)
    js = client.get(script, headers={"Accept-Encoding": "gzip"})
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert "immutable" in js.headers["cache-control"]
    assert len(js.content) > 1_000_000  # the bundled plotly.js itself
    again = client.get(script, headers={"If-None-Match": js.headers["etag"]})
    assert again.status_code == 304


def test_names_from_the_data_are_escaped_everywhere(client: Any) -> None:
    nasty = '<script>alert("x")</script>'
    client.post(
        f"{BOARD}/events",
        data={"kind": "walk-in", "services": "TYRE", "customer": nasty, "at": "10:00"},
    )
    page = client.get(BOARD, headers=HTML).text
    assert nasty not in page
    assert str(escape(nasty)) in page  # in the form's booking list and the table view
    # In the figure, plotly would render tags in hover text: they are escaped there too.
    customers = [c[1] for t in _figure(page, "fig-bays")["data"] for c in t["customdata"]]
    assert html.escape(nasty, quote=False) in customers


def test_what_if_page_shows_each_figure_with_its_interval(client: Any, tmp_path: Path) -> None:
    folder = tmp_path / "whatif"
    folder.mkdir()
    (folder / "express-lane.yaml").write_text(
        "name: express-lane\ndescription: Quick jobs get their own lane.\n", encoding="utf-8"
    )
    seen: list[tuple[str, int, int]] = []

    def runner(path: Path, replications: int, seed: int) -> board.WhatIfView:
        seen.append((path.name, replications, seed))
        return board.whatif_from_json(
            {
                "replications": replications,
                "seed": seed,
                "kpis": {
                    "waiter_mean_wait": {
                        "base": {"mean": 60, "ci95": [55, 65]},
                        "variant": {"mean": 50, "ci95": [46, 54]},
                        "difference": {"mean": -10, "ci95": [-14, -6]},
                    },
                    "dropoff_on_time_share": {
                        "base": {"mean": 0.8, "ci95": [0.75, 0.85]},
                        "variant": {"mean": 0.82, "ci95": [0.78, 0.86]},
                        "difference": {"mean": 0.02, "ci95": [-0.01, 0.05]},
                    },
                },
            },
            scenario=path.stem,
            title="Express lane",
            replications=replications,
            seed=seed,
        )

    client.app.state.whatif_dir = folder
    client.app.state.whatif_runner = runner
    page = client.get("/whatif", headers=HTML)
    assert page.status_code == 200 and "Quick jobs get their own lane." in page.text
    result = client.post(
        "/whatif", data={"scenario": "express-lane", "replications": "12", "seed": "3"}
    )
    assert result.status_code == 200
    assert seen == [("express-lane.yaml", 12, 3)]
    assert "[-14.0, -6.0]" in result.text  # minutes
    assert "[-1.00, +5.00] pp" in result.text  # a share, in percentage points
    assert "better" in result.text and "no clear difference" in result.text
    figure = _figure(result.text, "fig-whatif")
    assert len(figure["data"]) == 2
    for trace in figure["data"]:
        assert trace["error_x"]["array"][0] > 0 and trace["error_x"]["arrayminus"][0] > 0
    unknown = client.post("/whatif", data={"scenario": "nope"})
    assert unknown.status_code == 422 and "nope" in unknown.text


def test_what_if_page_says_so_when_the_engine_is_missing(client: Any, tmp_path: Path) -> None:
    def missing() -> board.WhatIfRunner:
        raise board.WhatIfUnavailable("the simulation package is not installed")

    client.app.state.whatif_dir = tmp_path
    client.app.state.whatif_runner = None
    original = board.default_whatif_runner
    board.default_whatif_runner = missing
    try:
        page = client.get("/whatif", headers=HTML)
    finally:
        board.default_whatif_runner = original
    assert page.status_code == 200
    assert "What-if engine not available" in page.text
    assert "No scenario files" in page.text


@pytest.mark.slow
def test_what_if_runs_a_real_scenario(client: Any) -> None:
    """The page runs the simulation service on a shipped scenario (the browser test does too)."""
    scenarios = board.whatif_scenarios(board.default_whatif_dir())
    if not scenarios:
        pytest.skip("no what-if scenarios in scenarios/whatif")
    name = "express-lane" if any(s.name == "express-lane" for s in scenarios) else scenarios[0].name
    result = client.post("/whatif", data={"scenario": name, "replications": "3", "seed": "1"})
    assert result.status_code == 200, result.text[-800:]
    rows = re.findall(r'<tr data-kpi="([^"]+)">(.*?)</tr>', result.text, re.S)
    assert rows
    for _, row in rows:
        assert re.search(r'class="interval">\[[^\]]+\]', row), row
    assert len(_figure(result.text, "fig-whatif")["data"]) == len(rows)
