"""KPI tables as CSV and XLSX: one description of a table, two files.

The dashboards export every table they show through here, and the monthly report pack can build
its workbook from the same pieces (``Table``, ``add_sheet``, ``workbook``): a sheet per table, each
an Excel table (filter buttons, banded rows) whose numbers are numbers with a number format, not
text, so a coordinator can sort, sum and pivot them. Cells are values, never formulas; text that
a spreadsheet would run as a formula is written as text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet.table import (  # type: ignore[import-untyped]
    Table as ExcelTable,
)
from openpyxl.worksheet.table import (
    TableStyleInfo,
)
from openpyxl.worksheet.worksheet import Worksheet  # type: ignore[import-untyped]

from radflow.exams.export import XLSX_CONTENT_TYPE, excel_value

#: Excel number formats the KPI tables use.
INTEGER = "#,##0"
DECIMAL_1 = "#,##0.0"
DECIMAL_2 = "#,##0.00"
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"

#: Digits a CSV keeps after the decimal point (the XLSX keeps every digit and shows its format).
CSV_DECIMALS = 4
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_WIDTH = 50
MIN_WIDTH = 8


@dataclass(frozen=True)
class Column:
    title: str
    #: Excel number format of the column's numbers (and dates); empty: General.
    number_format: str = ""
    width: int | None = None


@dataclass(frozen=True)
class Formatted:
    """One cell with its own number format (a KPI table mixes counts, rates and hours)."""

    value: Any
    number_format: str


@dataclass(frozen=True)
class Table:
    """Rows under column headings. ``name`` is the sheet title and the file name's stem."""

    name: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Any]] = field(default_factory=list)

    @property
    def headers(self) -> list[str]:
        return [column.title for column in self.columns]


def decimals_of(number_format: str) -> int:
    """Digits after the point in a format such as ``#,##0.00`` (0 for ``#,##0`` or General)."""
    match = re.search(r"\.(0+)", number_format)
    return len(match.group(1)) if match else 0


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Formatted) else value


# --- CSV --------------------------------------------------------------------------------------


def csv_cell(value: Any) -> str:
    """A CSV field: numbers as plain digits (no thousands separator), local times, and text
    that would start a formula prefixed with an apostrophe."""
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{round(value, CSV_DECIMALS):.{CSV_DECIMALS}f}".rstrip("0").rstrip(".")
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime):
        local = excel_value(value)
        return local.strftime("%Y-%m-%d %H:%M") if isinstance(local, datetime) else str(local)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([csv_cell(value) for value in row])
    return buffer.getvalue()


def csv_response(table: Table, *, filename: str) -> HttpResponse:
    """A CSV download (UTF-8 with a byte-order mark, so Excel reads accents right)."""
    response = HttpResponse("\ufeff" + csv_text(table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(filename, "csv")}"'
    return response


# --- XLSX -------------------------------------------------------------------------------------


def _table_name(title: str, taken: set[str]) -> str:
    """An Excel table name: a letter first, then letters, digits, underscores; unique."""
    name = re.sub(r"\W", "_", title).strip("_") or "Data"
    if not name[0].isalpha():
        name = "T_" + name
    name = name[:240]
    candidate, n = name, 2
    while candidate.lower() in taken:
        candidate, n = f"{name}_{n}", n + 1
    taken.add(candidate.lower())
    return candidate


def _sheet_title(name: str, workbook: Workbook) -> str:
    title = re.sub(r"[\[\]:*?/\\]", " ", name).strip()[:31] or "Sheet"
    existing = {sheet.title.lower() for sheet in workbook.worksheets}
    candidate, n = title, 2
    while candidate.lower() in existing:
        suffix = f" ({n})"
        candidate, n = title[: 31 - len(suffix)] + suffix, n + 1
    return candidate


def _text_width(value: Any) -> int:
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    if isinstance(value, float):
        return len(f"{value:,.2f}")
    return max((len(line) for line in str("" if value is None else value).splitlines()), default=0)


def style_cell(cell: Any, raw: Any, value: Any, column: Column) -> None:
    """Text stays text (a value such as "=HYPERLINK(...)" never becomes a formula); numbers and
    dates carry their own (``Formatted``) or their column's number format."""
    if isinstance(value, str):
        cell.data_type = "s"
    elif isinstance(raw, Formatted):
        cell.number_format = raw.number_format
    elif isinstance(value, datetime):
        cell.number_format = column.number_format or DATETIME
    elif isinstance(value, date):
        cell.number_format = column.number_format or DATE
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        cell.number_format = column.number_format or "General"


def add_sheet(workbook: Workbook, table: Table) -> Worksheet:
    """``table`` as a new sheet of ``workbook``: bold frozen header, sized columns, number
    formats, and an Excel table over the data (Excel refuses an empty one: then a header only)."""
    sheet = workbook.create_sheet(_sheet_title(table.name, workbook))
    sheet.append(table.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    widths = [_text_width(title) for title in table.headers]
    for row_number, row in enumerate(table.rows, start=2):
        values = [excel_value(_plain(value)) for value in row]
        sheet.append(values)
        # By position: ``sheet[sheet.max_row]`` scans every cell, quadratic on a big sheet.
        cells = [sheet.cell(row=row_number, column=n) for n in range(1, len(values) + 1)]
        for index, (cell, raw, value) in enumerate(zip(cells, row, values, strict=True)):
            widths[index] = max(widths[index], _text_width(value))
            style_cell(cell, raw, value, table.columns[index])
    for index, column in enumerate(table.columns, start=1):
        width = column.width or max(MIN_WIDTH, min(MAX_WIDTH, widths[index - 1] + 2))
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    if table.rows:
        taken = {name.lower() for other in workbook.worksheets for name in other.tables}
        sheet.add_table(excel_table(_table_name(table.name, taken), table))
    return sheet


def excel_table(name: str, table: Table) -> ExcelTable:
    """The Excel table over ``table``'s heading and rows, with its column names given (a
    write-only sheet cannot read them back from its cells)."""
    last = get_column_letter(max(1, len(table.columns)))
    excel = ExcelTable(displayName=name, ref=f"A1:{last}{len(table.rows) + 1}")
    excel.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    excel._initialise_columns()
    for heading, title in zip(excel.tableColumns, table.headers, strict=True):
        heading.name = title
    return excel


def workbook(tables: Iterable[Table]) -> Workbook:
    """A workbook with one sheet (and one Excel table) per table, in order."""
    book = Workbook()
    first = book.active
    for table in tables:
        add_sheet(book, table)
    if first is not None and len(book.worksheets) > 1:
        book.remove(first)
    return book


def xlsx_bytes(tables: Iterable[Table]) -> bytes:
    buffer = io.BytesIO()
    workbook(tables).save(buffer)
    return buffer.getvalue()


def xlsx_response(tables: Iterable[Table], *, filename: str) -> HttpResponse:
    response = HttpResponse(xlsx_bytes(tables), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{_filename(filename, "xlsx")}"'
    return response


def _filename(stem: str, extension: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-") or "export"
    return safe if safe.endswith(f".{extension}") else f"{safe}.{extension}"
