"""The plan as an Excel workbook: what a service manager forwards, filters and prints.

Three sheets: ``Plan`` (one row per operation, as in the CSV), ``Unscheduled`` (bookings left
out, with reasons) and ``Key figures``. Times are real spreadsheet times in the workshop's local
wall clock, so they sort and filter; every text cell is stored as text, never as a formula.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from api.services.board import EXPORT_COLUMNS, DayBoard, export_rows

TIME_COLUMNS = ("start", "end", "promised", "ready")
HEADER_FILL = PatternFill("solid", fgColor="1F2A44")


def _local(text: str) -> dt.datetime | str:
    """An ISO time as a naive local datetime (spreadsheets have no time zones)."""
    try:
        return dt.datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        return text


def _put(ws: Worksheet, row: int, col: int, value: Any) -> None:
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text that starts with "=" stays text
    elif isinstance(value, dt.datetime):
        cell.number_format = "hh:mm"


def _table(ws: Worksheet, header: list[str], rows: list[list[Any]], widths: list[int]) -> None:
    for col, name in enumerate(header, start=1):
        _put(ws, 1, col, name)
        cell = ws.cell(row=1, column=col)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(vertical="center")
    for r, values in enumerate(rows, start=2):
        for col, value in enumerate(values, start=1):
            _put(ws, r, col, value)
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A2"
    if rows:
        ws.auto_filter.ref = ws.dimensions


def workbook(board: DayBoard) -> bytes:
    """The board's plan as ``.xlsx`` bytes."""
    wb = Workbook()
    plan = wb.active
    assert plan is not None
    plan.title = "Plan"
    rows = [r for r in export_rows(board) if r["status"] == "scheduled"]
    columns = [c for c in EXPORT_COLUMNS if c not in ("status", "reason")]
    widths = {"customer": 18, "vehicle": 12, "service_name": 34, "technician_name": 16}
    _table(
        plan,
        columns,
        [[_local(r[c]) if c in TIME_COLUMNS else r[c] for c in columns] for r in rows],
        [widths.get(c, 11 if c not in ("parts",) else 28) for c in columns],
    )
    left = wb.create_sheet("Unscheduled")
    _table(
        left,
        ["booking", "customer", "vehicle", "waiting", "services", "arrival", "reason"],
        [
            [u.booking, u.customer, u.vehicle, u.waiting, u.services, u.arrival, u.reason]
            for u in board.unscheduled
        ],
        [11, 18, 12, 9, 34, 9, 60],
    )
    figures = wb.create_sheet("Key figures")
    _table(
        figures,
        ["figure", "value", "detail"],
        [
            ["workshop", board.workshop_name, board.workshop_id],
            ["date", board.date.isoformat(), board.timezone],
            ["plan version", board.version, board.status],
            *([c.label, c.value, c.detail] for c in board.cards),
        ],
        [22, 16, 48],
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
