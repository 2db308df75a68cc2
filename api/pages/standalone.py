"""A plan as one self-contained HTML file: ``workshop plan DAY.yaml --html plan.html``.

The page carries the same chart as the day board (the same figures, template and script) with
the key figures, the unscheduled bookings and the promises at risk, and embeds plotly.js, the
stylesheet and the script, so it opens anywhere, offline, by double-click or as an e-mail
attachment. It is built from the day and its plan alone: no database, no server.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from api.pages import charts
from api.pages.render import PLOTLY, STATIC, asset, render
from api.services.board import build_board
from scheduler.domain import Day
from scheduler.plan import Plan
from scheduler.planfile import plan_to_dict


def plan_page(day: Day, plan: Plan, *, written: dt.datetime | None = None) -> str:
    """The self-contained HTML page of ``plan`` for ``day``."""
    board = build_board(day, plan_to_dict(day, plan))
    moment = written or dt.datetime.now().astimezone()
    return render(
        "plan_file.html",
        standalone=True,
        b=board,
        fig_bays=charts.gantt_figure(board, "bay"),
        fig_techs=charts.gantt_figure(board, "technician"),
        colours=charts.service_colours([s.value for s in board.services]),
        written=moment.strftime("%Y-%m-%d %H:%M"),
        inline_css=(STATIC / "board.css").read_text(encoding="utf-8"),
        inline_js=(STATIC / "board.js").read_text(encoding="utf-8"),
        inline_plotly=asset(PLOTLY).body.decode("utf-8"),
    )


def write_plan_page(day: Day, plan: Plan, path: Path) -> None:
    """Write the self-contained page of ``plan`` to ``path`` (UTF-8)."""
    path.write_text(plan_page(day, plan), encoding="utf-8")
