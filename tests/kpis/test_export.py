"""The shared KPI export: CSV that spreadsheets cannot run, XLSX with real tables and formats."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook  # type: ignore[import-untyped]

from radflow.kpis.export import (
    DECIMAL_1,
    INTEGER,
    Column,
    Formatted,
    Table,
    csv_cell,
    csv_text,
    xlsx_bytes,
)

RATES = Table(
    "No-show rate by site",
    [Column("Site"), Column("Rate (%)", DECIMAL_1), Column("Count", INTEGER)],
    [("Northside", 66.66666, 2), ("=cmd|' /C calc'!A0", 33.33333, 1)],
)


def test_csv_numbers_are_plain_and_formulas_stay_text() -> None:
    lines = csv_text(RATES).splitlines()
    assert lines[0] == "Site,Rate (%),Count"
    assert lines[1] == "Northside,66.6667,2"
    assert lines[2].startswith("'=cmd")
    assert csv_cell(None) == "" and csv_cell(Formatted(12.0, INTEGER)) == "12"
    assert csv_cell(date(2026, 3, 10)) == "2026-03-10"


def test_csv_times_are_the_departments_local_times() -> None:
    assert csv_cell(datetime(2026, 3, 10, 14, 0, tzinfo=UTC)) == "2026-03-10 10:00"


def test_each_table_is_a_sheet_with_an_excel_table_and_number_formats() -> None:
    empty = Table("No-show rate by site", [Column("Site")], [])
    book = load_workbook(io.BytesIO(xlsx_bytes([RATES, RATES, empty])))
    assert book.sheetnames == [
        "No-show rate by site",
        "No-show rate by site (2)",
        "No-show rate by site (3)",
    ]
    first, second, third = (book[name] for name in book.sheetnames)
    names = {*first.tables, *second.tables}
    assert len(names) == 2 and not third.tables  # Excel refuses a table without rows
    assert first["B2"].number_format == DECIMAL_1 and first["B2"].value == 66.66666
    assert first["C2"].number_format == INTEGER
    assert first["A3"].data_type == "s" and first["A3"].value.startswith("=cmd")
    assert first.freeze_panes == "A2"
