"""Plotly figures of the day board, as plain JSON-ready dicts (no plotly Python import needed).

The Gantt chart draws each operation of the plan as one horizontal bar on its row: the bay it
runs in, or (second tab) the technician doing it. Bars are coloured by service, hatched when the
customer waits in the lounge, outlined when the booking's promise just moved, and faded when the
work is already done. Breaks, absences, unavailable windows and time off shift are shaded behind
the bars, and a line marks the current time. Hovering a bar shows booking, customer, vehicle,
start, end and promised time.

The what-if chart shows each key figure's paired difference (variant minus base) with its
confidence interval as an error bar, one small panel per figure so minutes and shares each get
their own scale, with a line at zero: an interval that crosses it is no clear difference.

Figures are dicts in plotly.js's JSON schema, drawn in the browser by ``static/board.js`` with
the plotly.js bundled in the installed ``plotly`` package; nothing is fetched from the internet.
Every text that comes from data is HTML-escaped, since plotly renders a subset of HTML in labels.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from typing import Any

from api.services.board import Bar, DayBoard, Row, Shade, WhatIfRow

# Colour-blind-friendly qualitative palette (Okabe-Ito, then Tableau 10 for more services).
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#7A68A6",
    "#999933",
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#B07AA1",
    "#76B7B2",
    "#EDC948",
    "#9C755F",
    "#FF9DA7",
)
SHADE_COLOURS = {
    "break": "rgba(120, 130, 150, 0.16)",
    "absent": "rgba(120, 90, 80, 0.26)",
    "unavailable": "rgba(120, 90, 80, 0.26)",
    "off-shift": "rgba(120, 130, 150, 0.30)",
}
NOW_COLOUR = "#C62828"
MOVED_COLOUR = "#111111"
ROW_HEIGHT = 36
CONFIG = {
    "displaylogo": False,
    "responsive": False,  # board.js resizes visible charts itself (plotly squashes hidden ones)
    "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


def service_colours(codes: Sequence[str]) -> dict[str, str]:
    """A colour per service code, in catalogue order, so a service keeps its colour all day."""
    return {code: PALETTE[i % len(PALETTE)] for i, code in enumerate(codes)}


def _when(date: dt.date, minute: int) -> str:
    """A local wall-clock time as plotly's date text (``2026-11-26 08:05``)."""
    moment = dt.datetime.combine(date, dt.time()) + dt.timedelta(minutes=minute)
    return moment.strftime("%Y-%m-%d %H:%M")


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def _row_of(bar: Bar, by: str) -> str:
    return bar.bay if by == "bay" else bar.technician


def _bar_traces(board: DayBoard, rows: Sequence[Row], by: str) -> list[dict[str, Any]]:
    colours = service_colours([s.value for s in board.services])
    labels = {r.id: r.label for r in rows}
    traces = []
    for service in board.services:
        bars = [b for b in board.bars if b.service == service.value]
        if not bars:
            continue
        done = [board.now is not None and b.end <= board.now for b in bars]
        other = "technician" if by == "bay" else "bay"
        traces.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": f"{service.value}: {_e(service.label)}",
                "legendgroup": service.value,
                "y": [labels.get(_row_of(b, by), _row_of(b, by)) for b in bars],
                "base": [_when(board.date, b.start) for b in bars],
                "x": [(b.end - b.start) * 60_000 for b in bars],  # milliseconds on a date axis
                "text": [_e(b.booking) for b in bars],
                "textposition": "inside",
                "insidetextanchor": "middle",
                "textfont": {"color": "#ffffff", "size": 11},
                "textangle": 0,
                "constraintext": "both",
                "marker": {
                    "color": colours[service.value],
                    "opacity": [0.45 if d else 1.0 for d in done],
                    "pattern": {
                        "shape": ["/" if b.waiting else "" for b in bars],
                        "fillmode": "overlay",
                        "fgcolor": "rgba(255, 255, 255, 0.6)",
                        "size": 8,
                        "solidity": 0.3,
                    },
                    "line": {
                        "color": [MOVED_COLOUR if b.moved else "rgba(0,0,0,0.25)" for b in bars],
                        "width": [3 if b.moved else 0.5 for b in bars],
                    },
                },
                "customdata": [
                    [
                        _e(b.booking),
                        _e(b.customer or "-"),
                        _e(b.vehicle or "-"),
                        _e(b.service_name),
                        b.start_text,
                        b.end_text,
                        b.promised_text,
                        b.ready_text,
                        "waiter (in the lounge)" if b.waiting else "drop-off",
                        _e(b.technician_name if by == "bay" else b.bay),
                        " · promise moved" if b.moved else "",
                    ]
                    for b in bars
                ],
                "hovertemplate": (
                    "<b>%{customdata[0]}</b> %{customdata[1]} · %{customdata[2]}<br>"
                    "%{customdata[3]}<br>"
                    "%{customdata[4]}\u2013%{customdata[5]} · " + other + " %{customdata[9]}<br>"
                    "promised %{customdata[6]} · ready %{customdata[7]}<br>"
                    "%{customdata[8]}%{customdata[10]}<extra></extra>"
                ),
            }
        )
    return traces


def _shade_shapes(board: DayBoard, rows: Sequence[Row]) -> list[dict[str, Any]]:
    shapes = []
    lo, hi = board.window
    for index, row in enumerate(rows):
        for shade in row.shades:
            start, end = max(shade.start, lo), min(shade.end, hi)
            if start >= end:
                continue
            shapes.append(_shade(board.date, index, Shade(start, end, shade.kind)))
    return shapes


def _shade(date: dt.date, index: int, shade: Shade) -> dict[str, Any]:
    return {
        "type": "rect",
        "layer": "below",
        "xref": "x",
        "yref": "y",
        "x0": _when(date, shade.start),
        "x1": _when(date, shade.end),
        "y0": index - 0.5,
        "y1": index + 0.5,
        "fillcolor": SHADE_COLOURS[shade.kind],
        "line": {"width": 0},
        "name": shade.kind,
    }


def gantt_figure(board: DayBoard, by: str = "bay") -> dict[str, Any]:
    """The day as a Gantt chart with one row per bay (``by="bay"``) or per technician."""
    rows = board.bays if by == "bay" else board.technicians
    labels = [r.label for r in rows]
    shapes = _shade_shapes(board, rows)
    annotations = []
    if board.now is not None:
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": _when(board.date, board.now),
                "x1": _when(board.date, board.now),
                "y0": 0,
                "y1": 1,
                "line": {"color": NOW_COLOUR, "width": 2, "dash": "dot"},
                "name": "now",
            }
        )
        annotations.append(
            {
                "xref": "x",
                "yref": "paper",
                "x": _when(board.date, board.now),
                "y": 0,
                "yanchor": "top",
                "text": f"now {board.now_text}",
                "showarrow": False,
                "font": {"color": NOW_COLOUR, "size": 11},
            }
        )
    lo, hi = board.window
    layout: dict[str, Any] = {
        "barmode": "overlay",
        "bargap": 0.22,
        "height": max(260, ROW_HEIGHT * len(rows) + 90),
        "margin": {"l": 10, "r": 16, "t": 36, "b": 30},
        "showlegend": False,
        "uniformtext": {"minsize": 9, "mode": "hide"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        "hoverlabel": {"bgcolor": "#ffffff", "bordercolor": "#c9cfdb", "font": {"size": 12}},
        "xaxis": {
            "type": "date",
            "side": "top",
            "range": [_when(board.date, lo), _when(board.date, hi)],
            "tickformat": "%H:%M",
            "dtick": 3_600_000,
            "gridcolor": "#e6e9ef",
            "linecolor": "#c9cfdb",
            "showline": True,
            "mirror": True,
            "fixedrange": False,
        },
        "yaxis": {
            "type": "category",
            "categoryorder": "array",
            "categoryarray": labels,
            "range": [len(labels) - 0.5, -0.5],  # first row at the top
            "automargin": True,
            "showgrid": False,
            "linecolor": "#c9cfdb",
            "showline": True,
            "mirror": True,
            "ticks": "",
            "ticksuffix": "  ",
            "fixedrange": True,
        },
        "shapes": shapes,
        "annotations": annotations,
    }
    # Horizontal lines between rows make long rows easy to follow across the day.
    layout["shapes"] = [
        *(
            {
                "type": "line",
                "layer": "below",
                "xref": "paper",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": i + 0.5,
                "y1": i + 0.5,
                "line": {"color": "#eef0f4", "width": 1},
                "name": "row",
            }
            for i in range(len(labels) - 1)
        ),
        *shapes,
    ]
    return {"data": _bar_traces(board, rows, by), "layout": layout, "config": CONFIG}


def is_share(key: str) -> bool:
    """Whether a key figure is a share (0..1), shown in percentage points."""
    return key.endswith("share") or key.endswith("utilization")


def _scaled(kpi: WhatIfRow) -> tuple[float, float, float] | None:
    if kpi.difference is None or not math.isfinite(kpi.difference):
        return None
    factor = 100.0 if is_share(kpi.key) else 1.0
    low = kpi.low if kpi.low is not None and math.isfinite(kpi.low) else kpi.difference
    high = kpi.high if kpi.high is not None and math.isfinite(kpi.high) else kpi.difference
    return kpi.difference * factor, low * factor, high * factor


VERDICT_COLOURS = {"better": "#2E7D32", "worse": "#C62828", "no clear difference": "#5F6B7A"}


def whatif_figure(kpis: Sequence[WhatIfRow], confidence: float = 0.95) -> dict[str, Any]:
    """Each key figure's difference with its interval: one small panel per figure."""
    shown = [(k, s) for k in kpis if (s := _scaled(k)) is not None]
    n = max(1, len(shown))
    height_each = 64
    data: list[dict[str, Any]] = []
    layout: dict[str, Any] = {
        "height": n * height_each + 60,
        "margin": {"l": 10, "r": 24, "t": 24, "b": 30},
        "showlegend": False,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        "hoverlabel": {"bgcolor": "#ffffff", "bordercolor": "#c9cfdb"},
    }
    gap = 0.35 / n
    for i, (kpi, (diff, low, high)) in enumerate(shown):
        axis = "" if i == 0 else str(i + 1)
        top = 1 - i / n
        bottom = 1 - (i + 1) / n + gap
        unit = "pp" if is_share(kpi.key) else ""
        spread = max(abs(low), abs(high), 1e-9) * 1.15
        colour = VERDICT_COLOURS[kpi.verdict]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [diff],
                "y": [_e(kpi.label)],
                "xaxis": f"x{axis}",
                "yaxis": f"y{axis}",
                "marker": {"size": 12, "color": colour, "symbol": "diamond"},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": [max(0.0, high - diff)],
                    "arrayminus": [max(0.0, diff - low)],
                    "color": colour,
                    "thickness": 2.5,
                    "width": 8,
                },
                "hovertemplate": (
                    f"<b>{_e(kpi.label)}</b><br>difference %{{x:.3g}} {unit}<br>"
                    f"{confidence:.0%} interval [{low:.3g}, {high:.3g}] {unit}<br>"
                    f"{kpi.verdict}<extra></extra>"
                ),
                "name": _e(kpi.label),
            }
        )
        layout[f"xaxis{axis}"] = {
            "domain": [0, 1],
            "anchor": f"y{axis}",
            "range": [-spread, spread],
            "zeroline": True,
            "zerolinecolor": "#1f2a44",
            "zerolinewidth": 2,
            "gridcolor": "#eef0f4",
            "ticksuffix": f" {unit}" if unit else "",
            "tickfont": {"size": 10},
            "fixedrange": True,
        }
        layout[f"yaxis{axis}"] = {
            "domain": [bottom, top],
            "anchor": f"x{axis}",
            "automargin": True,
            "fixedrange": True,
            "tickfont": {"size": 12},
        }
    return {"data": data, "layout": layout, "config": CONFIG}
