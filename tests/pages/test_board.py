"""The board's view models as pure functions of (day, plan JSON), on the hand-made tiny day.

The tiny day (tests/utils.py): T1 and T2 on 08:00-17:00, T1 on a break 12:00-12:30, T2 absent
14:00-15:00; lift L1 and wash W1 (closed 12:00-13:00); B1 a waiter, B2 a drop-off promised
09:00 that waits for the 10:00 oil delivery, B3 a wash promised 12:00. The valid plan makes
B1 ready at 09:10, B3 at 09:30 and B2 at 10:55, 115 minutes after its promise.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

from api.cli import main
from api.pages import charts
from api.pages.standalone import plan_page
from api.services.board import (
    build_board,
    compare_versions,
    export_rows,
    job_sheets,
    whatif_scenarios,
)
from scheduler.domain import Day
from scheduler.plan import Plan, PlanStatus, Unscheduled
from scheduler.planfile import plan_to_dict
from tests.utils import hm, tiny_day, tiny_valid_assignments


def _plan(day: Day) -> dict[str, Any]:
    plan = Plan.build(day, tiny_valid_assignments(), [], status=PlanStatus.HEURISTIC)
    return plan_to_dict(day, plan)


def test_board_has_one_bar_per_assignment_with_its_booking_details() -> None:
    day = tiny_day()
    b = build_board(day, _plan(day), now=hm("10:15"))
    assert [(x.booking, x.start_text, x.end_text) for x in b.bars] == [
        ("B1", "08:00", "08:50"),
        ("B1", "08:50", "09:10"),
        ("B3", "09:10", "09:30"),
        ("B2", "10:00", "10:55"),
    ]
    b2 = next(x for x in b.bars if x.booking == "B2")
    assert (b2.promised_text, b2.ready_text, b2.late_minutes, b2.waiting) == (
        "09:00",
        "10:55",
        115,
        False,
    )
    assert b2.technician_name == "Wang Fang" and b2.parts == (("OIL", 4),)
    assert b.window == (hm("08:00"), hm("18:00"))
    assert b.now_text == "10:15"


def test_breaks_absences_and_closed_bays_are_shaded_on_their_rows() -> None:
    day = tiny_day()
    b = build_board(day, _plan(day))
    t1, t2 = b.technicians
    assert [s.label for s in t1.shades] == ["break 12:00-12:30", "off shift 17:00-18:00"]
    assert [s.label for s in t2.shades] == ["absent 14:00-15:00", "off shift 17:00-18:00"]
    assert [s.label for s in b.bays[1].shades] == ["unavailable 12:00-13:00"]
    figure = charts.gantt_figure(b, "technician")
    rects = [s for s in figure["layout"]["shapes"] if s["type"] == "rect"]
    assert len(rects) == 4


def test_promises_at_risk_are_the_late_and_the_tight_ones() -> None:
    day = tiny_day()
    b = build_board(day, _plan(day))
    # B2 is 115 minutes late; B1 (a waiter with no promise) and B3 are well inside theirs.
    assert [(r.booking, r.minutes_late, r.late) for r in b.at_risk] == [("B2", 115, True)]


def test_status_and_gap_come_from_the_plan() -> None:
    day = tiny_day()
    data = _plan(day)
    data["lower_bound"] = data["objective"] / 2
    b = build_board(day, data)
    assert b.gap == 0.5
    status = next(c for c in b.cards if c.key == "status")
    assert status.value == "Heuristic" and "gap 50.0%" in status.detail


def test_compare_versions_lists_moved_placed_and_dropped_promises() -> None:
    day = tiny_day()
    before = _plan(day)
    after = copy.deepcopy(before)
    b3 = next(a for a in after["assignments"] if a["booking"] == "B3")
    b3["end"] = "2026-11-26T09:45:00+08:00"  # B3 ready 15 minutes later
    after["assignments"] = [a for a in after["assignments"] if a["booking"] != "B2"]
    after["unscheduled"] = [{"booking": "B2", "reason": "no oil"}]
    changes = compare_versions(day, before, after)
    assert [(c.booking, c.kind, c.minutes) for c in changes] == [
        ("B2", "dropped", None),
        ("B3", "moved", 15),
    ]
    back = compare_versions(day, after, before)
    assert [(c.booking, c.kind) for c in back] == [("B3", "moved"), ("B2", "placed")]


def test_job_sheets_and_exports_cover_every_operation() -> None:
    day = tiny_day()
    data = _plan(day)
    data["unscheduled"] = []
    b = build_board(day, data)
    sheets = job_sheets(b, b.technicians)
    assert [(s.technician, [j.booking for j in s.jobs]) for s in sheets] == [
        ("T1", ["B1", "B1", "B3"]),
        ("T2", ["B2"]),
    ]
    assert sheets[0].parts == (("OIL", 4),) and sheets[0].breaks == "12:00-12:30"
    rows = export_rows(b)
    assert [r["start"] for r in rows] == [a["start"] for a in data["assignments"]]


def test_an_unscheduled_booking_is_listed_with_its_reason() -> None:
    day = tiny_day()
    plan = Plan.build(
        day,
        [a for a in tiny_valid_assignments() if a.booking != "B2"],
        [Unscheduled("B2", "oil runs out")],
        status=PlanStatus.HEURISTIC,
    )
    b = build_board(day, plan_to_dict(day, plan))
    assert [(u.booking, u.reason, u.services) for u in b.unscheduled] == [
        ("B2", "oil runs out", "Oil change")
    ]
    assert next(c for c in b.cards if c.key == "unscheduled").tone == "bad"


def test_whatif_scenarios_read_titles_and_descriptions(tmp_path: Path) -> None:
    (tmp_path / "b-lane.yaml").write_text("name: express-lane\ndescription: Fast.\n")
    (tmp_path / "a-broken.yaml").write_text("name: [unclosed\n")
    found = whatif_scenarios(tmp_path)
    assert [(s.name, s.title, s.description) for s in found] == [
        ("a-broken", "A broken", ""),
        ("b-lane", "Express lane", "Fast."),
    ]
    assert whatif_scenarios(tmp_path / "missing") == []


def test_the_standalone_page_embeds_everything_it_needs() -> None:
    day = tiny_day()
    plan = Plan.build(day, tiny_valid_assignments(), [], status=PlanStatus.HEURISTIC)
    page = plan_page(day, plan, written=dt.datetime(2026, 11, 25, 18, 0))
    assert page.startswith("<!doctype html>")
    assert "<script src=" not in page and '<link rel="stylesheet"' not in page
    assert page.count('id="fig-bays"') == 1 and page.count('id="fig-techs"') == 1
    assert len(page) > 1_000_000  # plotly.js is inside
    assert "Tiny Motors" in page and "2026-11-25 18:00" in page


def test_workshop_plan_html_writes_the_page(tmp_path: Path) -> None:
    from tests.pages.conftest import SMALL_DAY

    out, html = tmp_path / "plan.json", tmp_path / "plan.html"
    assert main(["plan", str(SMALL_DAY), "--out", str(out), "--html", str(html)]) == 0
    page = html.read_text(encoding="utf-8")
    assert "City Motors Service" in page and 'id="plan-table"' in page
    assert page.count("<tr data-booking=") >= 1
