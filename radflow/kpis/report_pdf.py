"""The pack as a PDF: an HTML template (``kpis/report/pack.html``) printed by WeasyPrint.

Everything printed comes from the version's frozen data and commentary, so publishing prints the
same numbers the draft showed. The renderer may fetch nothing but the ``data:`` URIs of the
charts: hospital networks are closed, and a template must never reach out.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.template.loader import render_to_string

from radflow.kpis.report_charts import pack_charts
from radflow.kpis.report_data import format_value, previous_month
from radflow.kpis.report_models import COMMENTARY_FIELDS

#: Commentary headings, in print order.
COMMENTARY_TITLES = {
    "summary": "Summary",
    "highlights": "Highlights",
    "concerns": "Concerns and risks",
    "actions": "Actions for next month",
}
#: The cover's headline tiles.
TILE_CODES = (
    "exams_performed",
    "tat_order_to_exam",
    "sla_stat",
    "no_show_rate",
    "room_utilization",
    "exams_per_8h",
)


@dataclass(frozen=True)
class Edition:
    """Which version the file is of, and whether it is final."""

    number: int
    published: bool
    built_at: str
    built_by: str = ""
    published_at: str = ""
    published_by: str = ""

    @property
    def status_label(self) -> str:
        return "Published" if self.published else "Draft"


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def duration_text(minutes: float | None) -> str:
    """``95`` -> ``1 h 35 min``; days past two days."""
    if minutes is None:
        return "—"
    if minutes >= 48 * 60:
        return f"{minutes / 1440:.1f} days"
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def _exception_blocks(exceptions: dict[str, Any]) -> list[dict[str, Any]]:
    def rows(items: list[dict[str, Any]], cells: tuple[str, ...]) -> list[dict[str, Any]]:
        return [
            {**item, "cells": [item.get(c, "") for c in cells], "measure": duration_text(
                item["minutes"])}
            for item in items
        ]  # fmt: skip

    blocks = [
        ("STAT and urgent exams begun after their SLA", exceptions["sla_misses"],
         ("due", "begun"), ("Due", "Begun"), "Late by", exceptions["sla_breached"],
         "Every STAT and urgent exam began within its SLA."),
        ("Longest waits from arrival to start", exceptions["longest_waits"],
         ("arrived", "begun"), ("Arrived", "Begun"), "Wait", None, "No waits recorded."),
        ("Slowest preliminary reports", exceptions["slowest_reports"],
         ("completed", "reported"), ("Completed", "Reported"), "End to report", None,
         "No reports written."),
        ("Reports still outstanding", exceptions["reports_outstanding"],
         ("completed",), ("Completed",), "Waiting", exceptions["reports_outstanding_count"],
         "Every exam performed this month has a report."),
    ]  # fmt: skip
    return [
        {
            "title": title,
            "rows": rows(items, cells),
            "heads": heads,
            "measure": measure,
            "total": total,
            "columns": 5 + len(heads),
            "empty": empty,
        }
        for title, items, cells, heads, measure, total, empty in blocks
    ]


def pdf_context(
    data: dict[str, Any], commentary: dict[str, str], edition: Edition
) -> dict[str, Any]:
    """What the template prints (display strings worked out here, not in the template)."""
    meta = data["meta"]
    kpis = data["kpis"]
    by_code = {row["code"]: row for row in kpis}
    groups: list[dict[str, Any]] = []
    for row in kpis:
        row = {**row, "p90_display": format_value(row.get("p90"), row["unit"])}
        if not groups or groups[-1]["category"] != row["category"]:
            groups.append({"category": row["category"], "rows": []})
        groups[-1]["rows"].append(row)
    volume = data["volume"]
    titles = {"site": "site", "modality": "modality", "exam_type": "exam type (top 10)",
              "priority": "priority", "patient_class": "patient class"}  # fmt: skip
    staffing = dict(data["staffing"])
    staffing["exams_per_8h_display"] = format_value(staffing["exams_per_8h"], "")
    staffing["rvus_per_hour_display"] = format_value(staffing["rvus_per_hour"], "")
    staffing["scanned_share_display"] = format_value(staffing["scanned_share"], "%")
    staffing_blocks = [{"title": "modality", "rows": staffing["by_modality"]}]
    if staffing.get("by_site"):
        staffing_blocks.insert(0, {"title": "site", "rows": staffing["by_site"]})
    charts = pack_charts(data)
    previous = previous_month(date.fromisoformat(meta["month"]))
    return {
        "meta": meta,
        "edition": edition,
        "status_counts": data["status_counts"],
        "tiles": [by_code[code] for code in TILE_CODES if code in by_code],
        "previous_label": previous.strftime("%B %Y"),
        "kpi_groups": groups,
        "has_reference": any(t.get("reference") is not None for t in data["trends"]),
        "charts": {
            "trends": [_data_uri(svg) for svg in charts["trends"]],
            **{name: _data_uri(svg) for name, svg in charts.items() if name != "trends"},
        },
        "volume_blocks": [
            {"title": titles[name], "rows": rows} for name, rows in volume["by"].items()
        ],
        "reason_blocks": [
            {"title": "No-shows by reason", "rows": volume["reasons"]["no_show_rate"]},
            {
                "title": "Same-day cancellations by reason",
                "rows": volume["reasons"]["same_day_cancel_rate"],
            },
        ],
        "exception_blocks": _exception_blocks(data["exceptions"]),
        "quality": data["quality"],
        "staffing": staffing,
        "staffing_status": by_code.get("exams_per_8h", {}).get("status", "none"),
        "staffing_blocks": staffing_blocks,
        "commentary": commentary,
        "commentary_parts": [
            {"title": COMMENTARY_TITLES[name], "text": commentary.get(name, "")}
            for name in COMMENTARY_FIELDS
        ],
    }


def render_html(data: dict[str, Any], commentary: dict[str, str], edition: Edition) -> str:
    return render_to_string("kpis/report/pack.html", pdf_context(data, commentary, edition))


def pack_pdf(data: dict[str, Any], commentary: dict[str, str], edition: Edition) -> bytes:
    """The pack's PDF (US Letter)."""
    from weasyprint import HTML  # type: ignore[import-untyped]
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    html = render_html(data, commentary, edition)
    fetcher = URLFetcher(allowed_protocols=["data"])
    pdf: bytes = HTML(string=html, url_fetcher=fetcher).write_pdf()
    return pdf
