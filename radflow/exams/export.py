"""XLSX downloads: a header row and data rows as a real Excel table.

Any list page can hand its rows to ``xlsx_response``. The sheet has a frozen header, sized
columns and an ``openpyxl`` table (filter buttons, banded rows), so the coordinator can sort and
pivot without first selecting a range. Cells are written as values, never formulas.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from typing import Any, cast

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet.table import (  # type: ignore[import-untyped]
    Table,
    TableStyleInfo,
)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: Widest a column is sized to (characters); longer text wraps in Excel's own way.
MAX_WIDTH = 60
MIN_WIDTH = 8

Cell = str | int | float | Decimal | date | datetime | bool | None


def excel_value(value: Any) -> Cell:
    """A value Excel can hold: aware times shown in the department's zone, no control bytes."""
    if isinstance(value, datetime):
        moment: datetime = timezone.localtime(value) if timezone.is_aware(value) else value
        return moment.replace(tzinfo=None)
    if value is None or isinstance(value, int | float | Decimal | date | bool):
        return cast(Cell, value)
    return _clean_text(str(value))


def _clean_text(text: str) -> str:
    """Without the control characters an XLSX cannot hold (openpyxl refuses them)."""
    return str(ILLEGAL_CHARACTERS_RE.sub("", text))


def _table_name(title: str) -> str:
    """Excel table names: a letter first, then letters, digits and underscores."""
    name = re.sub(r"\W", "_", title).strip("_") or "Data"
    if not name[0].isalpha():
        name = "T_" + name
    return name[:250]


def _width(values: Iterable[Cell]) -> int:
    longest = 0
    for value in values:
        if isinstance(value, datetime):
            text = "2000-01-01 00:00"
        elif isinstance(value, date):
            text = "2000-01-01"
        else:
            text = "" if value is None else str(value)
        longest = max(longest, max((len(line) for line in text.splitlines()), default=0))
    return max(MIN_WIDTH, min(MAX_WIDTH, longest + 2))


def xlsx_workbook(
    *,
    sheet_title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    widths: Sequence[int] | None = None,
) -> Workbook:
    """The workbook behind ``xlsx_response`` (tests and other exports can use it directly)."""
    workbook = Workbook()
    sheet = workbook.active
    if sheet is None:  # a new workbook always has one sheet
        sheet = workbook.create_sheet()
    sheet.title = sheet_title[:31]
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    data: list[list[Cell]] = []
    for row in rows:
        values = [excel_value(value) for value in row]
        sheet.append(values)
        data.append(values)
        for cell, value in zip(sheet[sheet.max_row], values, strict=True):
            if isinstance(value, str):
                # A value such as "=HYPERLINK(...)" stays text: exports never carry formulas.
                cell.data_type = "s"
            elif isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
    last_column = get_column_letter(max(1, len(headers)))
    for index, header in enumerate(headers, start=1):
        if widths is not None and index <= len(widths):
            width = widths[index - 1]
        else:
            width = _width([header, *(r[index - 1] for r in data)])
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    if data:
        # Excel refuses a table without a data row, so an empty export is a plain header row.
        table = Table(displayName=_table_name(sheet_title), ref=f"A1:{last_column}{len(data) + 1}")
        table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        sheet.add_table(table)
    return workbook


def xlsx_response(
    *,
    filename: str,
    sheet_title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    widths: Sequence[int] | None = None,
) -> HttpResponse:
    """An ``.xlsx`` download of ``rows`` under ``headers`` as one Excel table."""
    workbook = xlsx_workbook(sheet_title=sheet_title, headers=headers, rows=rows, widths=widths)
    buffer = BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
    if not filename.endswith(".xlsx"):
        filename += ".xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
