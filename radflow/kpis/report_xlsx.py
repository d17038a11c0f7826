"""The pack as an Excel workbook: one sheet per section, each an Excel table, and two flat sheets
to pivot (one row per exam of the month; one row per KPI and day).

Described with the dashboards' export pieces (``radflow.kpis.export``: ``Table``, ``Column``,
``Formatted``) and written the same way: numbers as numbers with a number format, free text as
text, never as a formula. The writer here goes cell by cell by index: the flat exam sheet has a
month of exams (11,000 rows on the demo), too many to look up the sheet's last row per row.
Rates are fractions shown as percentages, turnaround times are Excel durations (days shown
``[h]:mm``), timestamps are the department's local wall-clock time (Excel has no time zones). A
KPI's value in the KPI sheet is the dashboard's value in those formats.

The workbook is the numbers, frozen when the version is built; the commentary is the PDF's, so
publishing (which prints the commentary) leaves the workbook as it is. Rewriting a workbook with
a month of exams in it would take openpyxl longer than printing the whole PDF.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.styles import Font, PatternFill  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from radflow.exams.export import excel_value
from radflow.kpis.export import (
    DATE,
    DATETIME,
    INTEGER,
    Column,
    Formatted,
    Table,
    excel_table,
    style_cell,
)
from radflow.kpis.report_pdf import Edition

PERCENT = "0.0%"
DURATION = "[h]:mm"
MONTH = "mmm yyyy"
DECIMAL = "0.00"
ONE_DECIMAL = "0.0"

BOLD = Font(bold=True)

RAG_FILLS = {
    "green": PatternFill("solid", fgColor="C8E6C9"),
    "amber": PatternFill("solid", fgColor="FFE082"),
    "red": PatternFill("solid", fgColor="FFCDD2"),
}


def kpi_cell(value: float | None, unit: str) -> tuple[float | None, str]:
    """A KPI value in its unit as (cell value, number format)."""
    if value is None:
        return None, "General"
    if unit == "%":
        return value / 100, PERCENT
    if unit == "min":
        return value / 1440, DURATION
    if unit == "h":
        return value / 24, DURATION
    if unit in ("exams", "count"):
        return value, INTEGER
    if unit == "days":
        return value, ONE_DECIMAL
    return value, DECIMAL


def _kpi(value: float | None, unit: str) -> Any:
    cell, fmt = kpi_cell(value, unit)
    return None if cell is None else Formatted(cell, fmt)


def _days(value: timedelta | None) -> Any:
    return None if value is None else Formatted(value.total_seconds() / 86400, DURATION)


def _share(percent: float | None) -> float | None:
    return None if percent is None else percent / 100


def _stamp(text: str) -> datetime | None:
    """The data's local ``YYYY-MM-DD HH:MM`` as a spreadsheet time."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M") if text else None  # noqa: DTZ007


def _columns(*titles: str, **formats: str) -> list[Column]:
    """Columns by title; ``formats`` by title with spaces as underscores."""
    return [Column(title, formats.get(title.replace(" ", "_"), "")) for title in titles]


def _cover(data: dict[str, Any], edition: Edition) -> Table:
    meta = data["meta"]
    counts = data["status_counts"]
    rows: list[Sequence[Any]] = [
        ["Report", "Monthly report pack"],
        ["Scope", meta["scope"]],
        ["Month", Formatted(date.fromisoformat(meta["month"]), MONTH)],
        ["First day", date.fromisoformat(meta["start"])],
        ["Last day", date.fromisoformat(meta["end"])],
        ["Version", edition.number],
        ["Built", edition.built_at],
        ["Built by", edition.built_by],
        ["Computed at", meta["computed_at_display"]],
        ["Time zone", meta["time_zone"]],
        ["KPIs green", counts["green"]],
        ["KPIs amber", counts["amber"]],
        ["KPIs red", counts["red"]],
        ["Commentary", "In the PDF of the published version"],
    ]
    return Table("Cover", _columns("Field", "Value"), rows)


def _kpis(data: dict[str, Any]) -> Table:
    rows = []
    for k in data["kpis"]:
        unit = k["unit"]
        rows.append(
            [k["category"], k["code"], k["name"], unit, k["direction"], k["status"],
             _kpi(k["value"], unit), _kpi(k["target"], unit), _kpi(k["amber"], unit),
             _kpi(k["red"], unit), _kpi(k["previous"], unit), k["count"], k["numerator"],
             k["denominator"], _kpi(k["p50"], unit), _kpi(k["p90"], unit),
             _kpi(k["mean"], unit), k["note"], k["source"]]
        )  # fmt: skip
    columns = _columns(
        "Category", "Code", "KPI", "Unit", "Better", "Status", "Value", "Target", "Amber from",
        "Red beyond", "Previous month", "Counted", "Numerator", "Denominator", "Median", "P90",
        "Mean", "Note", "Source", Counted=INTEGER,
    )  # fmt: skip
    return Table("KPIs", columns, rows)


def _trends(data: dict[str, Any]) -> Table:
    rows = [
        [t["code"], t["name"], t["unit"], date.fromisoformat(p["period"]),
         _kpi(p["value"], t["unit"]), p["status"]]
        for t in data["trends"]
        for p in t["points"]
    ]  # fmt: skip
    return Table("Trends", _columns("Code", "KPI", "Unit", "Month", "Value", "Status",
                                    Month=MONTH), rows)  # fmt: skip


def _daily(data: dict[str, Any]) -> Table:
    kpis = {k["code"]: k for k in data["kpis"]}
    rows = [
        [date.fromisoformat(p["day"]), p["code"], kpis[p["code"]]["name"], kpis[p["code"]]["unit"],
         _kpi(p["value"], kpis[p["code"]]["unit"]), p["numerator"], p["denominator"], p["count"],
         p["status"]]
        for p in data["daily"]
        if p["code"] in kpis
    ]  # fmt: skip
    columns = _columns("Day", "Code", "KPI", "Unit", "Value", "Numerator", "Denominator",
                       "Counted", "Status", Day=DATE, Counted=INTEGER)  # fmt: skip
    return Table("KPIs by day", columns, rows)


def _volume(data: dict[str, Any]) -> list[Table]:
    titles = {"site": "Site", "modality": "Modality", "exam_type": "Exam type (top 10)",
              "priority": "Priority", "patient_class": "Patient class"}  # fmt: skip
    volume = [
        [titles[name], row["label"], row["count"], _share(row["share"])]
        for name, items in data["volume"]["by"].items()
        for row in items
    ]
    outcomes = {"no_show_rate": "No-show", "same_day_cancel_rate": "Same-day cancellation"}
    reasons = [
        [outcomes[code], row["label"], row["count"], _share(row["value"])]
        for code, items in data["volume"]["reasons"].items()
        for row in items
    ]
    return [
        Table("Volume", _columns("Breakdown", "Label", "Exams", "Share", Exams=INTEGER,
                                 Share=PERCENT), volume),
        Table("Reasons", _columns("Outcome", "Reason", "Appointments", "Rate of appointments due",
                                  Appointments=INTEGER, Rate_of_appointments_due=PERCENT),
              reasons),
    ]  # fmt: skip


def _exceptions(data: dict[str, Any]) -> Table:
    ex = data["exceptions"]
    lists = [
        ("SLA missed", ex["sla_misses"], "due", "begun"),
        ("Longest wait", ex["longest_waits"], "arrived", "begun"),
        ("Slowest report", ex["slowest_reports"], "completed", "reported"),
        ("Report outstanding", ex["reports_outstanding"], "completed", ""),
    ]
    rows = [
        [name, item["accession"], item["exam_type"], item["modality"], item["site"],
         item["room"], item["priority"], _stamp(item.get(start, "")),
         _stamp(item.get(end, "")) if end else None,
         _days(None if item["minutes"] is None else timedelta(minutes=item["minutes"]))]
        for name, items, start, end in lists
        for item in items
    ]  # fmt: skip
    columns = _columns("List", "Accession", "Exam type", "Modality", "Site", "Room", "Priority",
                       "From", "To", "Measure", From=DATETIME, To=DATETIME)  # fmt: skip
    return Table("Exceptions", columns, rows)


def _quality(data: dict[str, Any]) -> Table:
    q = data["quality"]
    audits, peer, incidents = q["audits"], q["peer_review"], q["incidents"]
    complaints, survey = q["complaints"], q["satisfaction"]
    rows: list[Sequence[Any]] = [
        ["Image-quality audits", "Drawn", audits["drawn"]],
        ["Image-quality audits", "Scored", audits["scored"]],
        ["Image-quality audits", "Mean score (%)", audits["mean_score"]],
        ["Image-quality audits", "Below the pass mark", audits["below_pass_mark"]],
        ["Peer review", "Assigned", peer["assigned"]],
        ["Peer review", "Completed", peer["completed"]],
        ["Peer review", "Declined", peer["declined"]],
        *(["Peer review", f"RADPEER {score}", n] for score, n in peer["scores"].items()),
        ["Peer review", "Discrepancy rate (%)", peer["discrepancy_rate"]],
        ["Peer review", "Follow-ups open", q["open_follow_ups"]],
        ["Incidents", "Incidents", incidents["incidents"]],
        ["Incidents", "Near misses", incidents["near_misses"]],
        *(["Incidents", f"Severity: {s}", n] for s, n in incidents["by_severity"].items()),
        ["Incidents", "Open at month end", incidents["open_at_month_end"]],
        ["Incidents", "Corrective actions overdue", q["overdue_actions"]],
        ["Complaints", "Complaints", complaints["complaints"]],
        ["Complaints", "Compliments", complaints["compliments"]],
        ["Complaints", "Resolved", complaints["resolved"]],
        ["Complaints", "Median resolution (days)", complaints["median_resolution_days"]],
        ["Complaints", "Resolved late", complaints["resolved_late"]],
        ["Complaints", "Open past deadline", complaints["overdue_open"]],
        ["Satisfaction", "Responses", survey["responses"]],
        ["Satisfaction", "Mean overall", survey["mean_overall"]],
        ["Satisfaction", "Net promoter score", survey["nps"]],
        ["Interpreters", "Needed", q["interpreter"]["requests"]],
        ["Interpreters", "Met", q["interpreter"]["met"]],
        ["Accessibility", "Requests", q["accessibility"]["requests"]],
        ["Accessibility", "Met", q["accessibility"]["met"]],
    ]
    return Table("Quality", _columns("Section", "Measure", "Value"), rows)


def _staffing(data: dict[str, Any]) -> Table:
    s = data["staffing"]

    def row(group: str, item: dict[str, Any]) -> list[Any]:
        return [group, item["label"], item.get("exams"), item.get("worked_hours"),
                item.get("exams_per_8h"), s["reference"], item.get("rvus_per_hour"),
                _share(item.get("scanned_share"))]  # fmt: skip

    total = {"label": "All", "exams": s["exams"], "worked_hours": s["worked_hours"],
             "exams_per_8h": s["exams_per_8h"], "rvus_per_hour": s["rvus_per_hour"],
             "scanned_share": s["scanned_share"]}  # fmt: skip
    rows = [row("Total", total)]
    rows += [row("Site", item) for item in s.get("by_site", [])]
    rows += [row("Modality", item) for item in s["by_modality"]]
    rows += [row("Person", item) for item in s["by_person"]]
    columns = _columns("Group", "Label", "Exams", "Worked hours", "Exams per 8 h", "Reference",
                       "RVUs per hour", "Scanned share", Exams=INTEGER, Worked_hours=ONE_DECIMAL,
                       Exams_per_8_h=DECIMAL, Reference=DECIMAL, RVUs_per_hour=DECIMAL,
                       Scanned_share=PERCENT)  # fmt: skip
    return Table("Staffing", columns, rows)


#: Formats of the flat exam sheet's columns (the rest are text or 0/1 flags).
_EXAM_FORMATS = {
    **{name: DATETIME for name in ("Ordered at", "Booked at", "Appointment", "Arrived at",
                                   "Begun at", "Completed at", "Reported at", "Signed at",
                                   "Cancelled at", "No-show at", "SLA due")},
    **{name: DURATION for name in ("Order to exam", "Wait", "Exam duration", "End to report",
                                   "Report to sign")},
}  # fmt: skip


def _exams(exams: list[dict[str, Any]]) -> Table:
    if not exams:
        return Table("Exams", [Column("Exams")], [])
    headers = list(exams[0])
    columns = [Column(title, _EXAM_FORMATS.get(title, "")) for title in headers]
    rows = [[_days(v) if isinstance(v, timedelta) else v for v in exam.values()] for exam in exams]
    return Table("Exams", columns, rows)


def _widths(table: Table) -> list[int]:
    """Column widths from the headings and the first rows (a write-only sheet takes its widths
    before its rows)."""
    widths = [len(title) for title in table.headers]
    for row in table.rows[:200]:
        for c, raw in enumerate(row):
            value = raw.value if isinstance(raw, Formatted) else raw
            if isinstance(value, str):
                widths[c] = max(widths[c], len(value))
            elif isinstance(value, datetime):
                widths[c] = max(widths[c], 16)
            elif isinstance(value, date):
                widths[c] = max(widths[c], 10)
    return [max(8, min(48, width + 2)) for width in widths]


def _cell(sheet: Any, raw: Any, column: Column) -> Any:
    """One value as a cell with its number format; None for an empty cell."""
    value = excel_value(raw.value if isinstance(raw, Formatted) else raw)
    if value is None:
        return None
    cell = WriteOnlyCell(sheet, value=value)
    style_cell(cell, raw, value, column)
    return cell


def _write(book: Workbook, table: Table, fills: Sequence[PatternFill | None] = ()) -> None:
    """``table`` as a streamed sheet with a bold frozen header and an Excel table over its rows
    (none when it has no rows: Excel refuses an empty table). ``fills``: one per row, for the
    row's "Status" cell (the KPI sheet's RAG colours).

    Streamed (openpyxl's write-only mode): the flat exam sheet has a month of exams, which as
    ordinary cells would be held in memory as millions of objects."""
    sheet = book.create_sheet(table.name)
    for c, width in enumerate(_widths(table), start=1):
        sheet.column_dimensions[get_column_letter(c)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for title in table.headers:
        cell = WriteOnlyCell(sheet, value=title)
        cell.data_type = "s"
        cell.font = BOLD
        header.append(cell)
    sheet.append(header)
    status = table.headers.index("Status") if "Status" in table.headers else -1
    columns = table.columns
    for r, row in enumerate(table.rows):
        cells = [_cell(sheet, raw, column) for raw, column in zip(row, columns, strict=True)]
        fill = fills[r] if r < len(fills) else None
        if fill is not None and status >= 0 and cells[status] is not None:
            cells[status].fill = fill
        sheet.append(cells)
    if table.rows:
        name = "".join(part.capitalize() for part in table.name.split()) + "Table"
        with warnings.catch_warnings():
            # Said of every write-only sheet; ``excel_table`` gives the columns.
            warnings.filterwarnings("ignore", "In write-only mode you must add table columns")
            sheet.add_table(excel_table(name, table))


def pack_xlsx(data: dict[str, Any], edition: Edition, exams: list[dict[str, Any]]) -> bytes:
    tables = [
        _cover(data, edition),
        _kpis(data),
        _trends(data),
        _daily(data),
        *_volume(data),
        _exceptions(data),
        _quality(data),
        _staffing(data),
        _exams(exams),
    ]
    book = Workbook(write_only=True)
    for table in tables:
        fills = (
            [RAG_FILLS.get(kpi["status"]) for kpi in data["kpis"]] if table.name == "KPIs" else []
        )
        _write(book, table, fills)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
