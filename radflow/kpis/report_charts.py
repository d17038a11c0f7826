"""The pack's charts: matplotlib drawn to SVG (no display, no pyplot state), from the frozen data.

Each function takes plain values from ``report_data.pack_data`` and returns an SVG document as
text. Figures are built with the object API (``Figure``), never ``pyplot``, so a build in a
background thread shares no global figure state with anything else in the process. Text stays
text in the SVG (``svg.fonttype: none``): smaller files, and WeasyPrint sets it in the PDF's own
font.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # never a display, whatever MPLBACKEND says

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

#: The RAG colours of the pack (the same as its CSS).
RAG = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828", "none": "#78909c"}
INK = "#263238"
LINE = "#1565c0"
TARGET = "#6d4c41"
REFERENCE = "#7b1fa2"

#: Typed loosely: matplotlib's stubs list every rc key as a literal.
_RC: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "radflow-report-pack",  # stable ids: the same data draws the same bytes
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.edgecolor": "#90a4ae",
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _svg(fig: Figure) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    return out.getvalue()


def trend_chart(trend: dict[str, Any]) -> str:
    """One KPI over 12 months: the line, each month's RAG dot, the target and any reference."""
    points = trend["points"]
    labels = [p["label"] for p in points]
    xs = list(range(len(points)))
    with rc_context(_RC):
        fig = Figure(figsize=(3.6, 1.65))
        ax = fig.add_subplot()
        known = [(x, p["value"]) for x, p in zip(xs, points, strict=True) if p["value"] is not None]
        if known:
            ax.plot([x for x, _ in known], [v for _, v in known], color=LINE, linewidth=1.4)
        for x, p in zip(xs, points, strict=True):
            if p["value"] is not None:
                ax.scatter([x], [p["value"]], color=RAG[p["status"]], s=16, zorder=3)
        if trend.get("target") is not None:
            ax.axhline(trend["target"], color=TARGET, linestyle="--", linewidth=1, label="Target")
        if trend.get("reference") is not None and trend["reference"] != trend.get("target"):
            ax.axhline(trend["reference"], color=REFERENCE, linestyle=":", linewidth=1.2)
        ax.set_title(f"{trend['name']} ({trend['unit']})", fontsize=9, color=INK, loc="left")
        ax.set_xticks(xs[::2], labels[::2])
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="y", color="#eceff1", linewidth=0.6)
        if not known:
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", color="#90a4ae")
        return _svg(fig)


def daily_volume_chart(days: Sequence[str], counts: Sequence[float | None]) -> str:
    """Exams performed per day of the month."""
    with rc_context(_RC):
        fig = Figure(figsize=(7.2, 1.8))
        ax = fig.add_subplot()
        values = [c or 0 for c in counts]
        ax.bar(range(len(days)), values, color=LINE, width=0.75)
        ax.set_xticks(range(len(days)), [d[-2:].lstrip("0") for d in days])
        ax.tick_params(axis="x", labelsize=6)
        ax.set_ylabel("exams")
        ax.set_title("Exams performed per day", fontsize=9, color=INK, loc="left")
        ax.grid(axis="y", color="#eceff1", linewidth=0.6)
        ax.set_axisbelow(True)
        return _svg(fig)


def productivity_chart(
    rows: Sequence[dict[str, Any]], *, reference: float | None, reference_label: str
) -> str:
    """Exams per 8 worked hours by group (modality, site), against the reference line (CADTH
    11.25 general ultrasound exams per sonographer per 8-hour day)."""
    shown = [r for r in rows if r.get("exams_per_8h") is not None][:12]
    with rc_context(_RC):
        fig = Figure(figsize=(7.2, 0.5 + 0.28 * max(len(shown), 1)))
        ax = fig.add_subplot()
        ys = list(range(len(shown)))
        ax.barh(ys, [r["exams_per_8h"] for r in shown], color=LINE, height=0.6)
        ax.set_yticks(ys, [r["label"] for r in shown])
        ax.invert_yaxis()
        if reference is not None:
            ax.axvline(reference, color=REFERENCE, linestyle=":", linewidth=1.4)
            ax.text(
                reference,
                -0.7,
                f"  reference {reference:g}",
                color=REFERENCE,
                fontsize=7,
                va="bottom",
            )
        ax.set_xlabel("exams per 8 worked hours")
        ax.grid(axis="x", color="#eceff1", linewidth=0.6)
        ax.set_axisbelow(True)
        if not shown:
            ax.text(0.5, 0.5, "no worked hours", transform=ax.transAxes, ha="center")
        return _svg(fig)


def bars_chart(title: str, labels: Sequence[str], values: Sequence[float], color: str) -> str:
    """A small vertical bar chart (incidents by severity, RADPEER scores)."""
    with rc_context(_RC):
        fig = Figure(figsize=(3.5, 1.7))
        ax = fig.add_subplot()
        ax.bar(range(len(labels)), values, color=color, width=0.6)
        ax.set_xticks(range(len(labels)), labels)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(title, fontsize=9, color=INK, loc="left")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0, max([*values, 1]) * 1.1)
        ax.grid(axis="y", color="#eceff1", linewidth=0.6)
        ax.set_axisbelow(True)
        return _svg(fig)


def pack_charts(data: dict[str, Any]) -> dict[str, Any]:
    """Every chart of a pack: ``trends`` (a list, in TREND_CODES order) and named ones."""
    performed = [row for row in data["daily"] if row["code"] == "exams_performed"]
    quality = data["quality"]
    staffing = data["staffing"]
    severity = quality["incidents"]["by_severity"]
    scores = quality["peer_review"]["scores"]
    return {
        "trends": [trend_chart(trend) for trend in data["trends"]],
        "daily_volume": daily_volume_chart(
            [row["day"] for row in performed], [row["value"] for row in performed]
        ),
        "productivity": productivity_chart(
            staffing["by_modality"],
            reference=staffing["reference"],
            reference_label=staffing["reference_label"],
        ),
        "incidents": bars_chart(
            "Incidents and near misses by severity",
            ["No harm" if name == "none" else name.capitalize() for name in severity],
            list(severity.values()),
            RAG["red"],
        ),
        "radpeer": bars_chart(
            "Peer reviews by RADPEER score", list(scores), list(scores.values()), LINE
        ),
    }
