"""How each KPI code is computed from added-up measures (rollup totals or raw totals alike).

The definitions (``KpiDefinition`` rows) say what a KPI means in words; this table says which
measures make it. Both the rollup path and the raw path produce ``Totals`` and hand them to
``compute``, so the two can only differ in how they counted, never in the formula.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from radflow.core.kpis.stats import merge_into, percentile, ratio


class Kind(StrEnum):
    COUNT = "count"
    RATE = "rate"
    TURNAROUND = "turnaround"
    UTILIZATION = "utilization"
    PRODUCTIVITY = "productivity"
    BACKLOG = "backlog"
    DOCUMENTATION = "documentation"
    QUALITY = "quality"


@dataclass(frozen=True)
class Spec:
    kind: Kind
    numerator: str = ""  # a count field (or a quality measure)
    denominator: str = ""
    scale: float = 1.0
    measure: str = ""  # histogram measure (turnaround)
    #: Minutes per unit of the KPI (turnaround): 1 min, 60 h, 1440 days.
    minutes_per_unit: float = 1.0


SPECS: dict[str, Spec] = {
    "exams_performed": Spec(Kind.COUNT, numerator="completed"),
    "orders_received": Spec(Kind.COUNT, numerator="orders"),
    "tat_order_to_scheduled": Spec(Kind.TURNAROUND, measure="sched", minutes_per_unit=60),
    "tat_order_to_exam": Spec(Kind.TURNAROUND, measure="access", minutes_per_unit=1440),
    "tat_wait": Spec(Kind.TURNAROUND, measure="wait"),
    "exam_duration": Spec(Kind.TURNAROUND, measure="duration"),
    "tat_end_to_report": Spec(Kind.TURNAROUND, measure="report", minutes_per_unit=60),
    "tat_report_to_sign": Spec(Kind.TURNAROUND, measure="sign", minutes_per_unit=60),
    "sla_stat": Spec(Kind.RATE, numerator="stat_met", denominator="stat_n", scale=100),
    "sla_urgent": Spec(Kind.RATE, numerator="urgent_met", denominator="urgent_n", scale=100),
    "no_show_rate": Spec(Kind.RATE, numerator="no_show", denominator="appt_due", scale=100),
    "same_day_cancel_rate": Spec(
        Kind.RATE, numerator="same_day_cancel", denominator="appt_due", scale=100
    ),
    "completion_rate": Spec(
        Kind.RATE, numerator="appt_completed", denominator="appt_due", scale=100
    ),
    "override_rate": Spec(Kind.RATE, numerator="overrides", denominator="begun", scale=100),
    "room_utilization": Spec(
        Kind.UTILIZATION, numerator="scanned_s", denominator="open_s", scale=100
    ),
    # Productivity: the numerator per worked second, scaled to the KPI's unit.
    "exams_per_8h": Spec(
        Kind.PRODUCTIVITY, numerator="completed", denominator="worked_s", scale=8 * 3600
    ),
    "rvus_per_hour": Spec(
        Kind.PRODUCTIVITY, numerator="rvu_milli", denominator="worked_s", scale=3600 / 1000
    ),
    "scanned_share": Spec(
        Kind.PRODUCTIVITY, numerator="scanned_s", denominator="worked_s", scale=100
    ),
    "third_next_available": Spec(Kind.BACKLOG),
    "documentation_findings": Spec(
        Kind.DOCUMENTATION, numerator="doc_gap", denominator="performed", scale=100
    ),
    "qa_score": Spec(Kind.QUALITY, numerator="qa_score"),
    "peer_review_discrepancy_rate": Spec(
        Kind.QUALITY, numerator="peer_review_discrepancy", scale=100
    ),
    "incidents": Spec(Kind.QUALITY, numerator="incidents"),
    "complaints": Spec(Kind.QUALITY, numerator="complaints"),
    "complaint_resolution_time": Spec(
        Kind.QUALITY, numerator="complaint_resolution_hours", scale=1 / 24
    ),
    "patient_satisfaction": Spec(Kind.QUALITY, numerator="satisfaction"),
    "interpreter_requests_met": Spec(
        Kind.QUALITY,
        numerator="interpreter_requests_met+accessibility_requests_met",
        scale=100,
    ),
}

#: Quality KPIs reported as a count (the total), not a mean or a rate.
QUALITY_COUNTS = frozenset({"incidents", "complaints"})

#: Which rollup measure (and count field) a breakdown by reason reads, per rate KPI.
REASON_KIND = {"no_show_rate": "no_show", "same_day_cancel_rate": "cancel"}


@dataclass
class Totals:
    """Added-up measures: integer counts and sums, histograms, and float pairs (quality)."""

    counts: Counter[str] = field(default_factory=Counter)
    hist: dict[str, dict[int, int]] = field(default_factory=dict)

    def merge(self, other: Totals) -> Totals:
        self.counts.update(other.counts)
        for measure, buckets in other.hist.items():
            merge_into(self.hist.setdefault(measure, {}), buckets)
        return self

    def add_hist(self, raw: dict[str, dict[str, int]]) -> None:
        for measure, buckets in raw.items():
            merge_into(self.hist.setdefault(measure, {}), buckets)


@dataclass(frozen=True)
class Computed:
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    count: int = 0
    p50: float | None = None
    p90: float | None = None
    mean: float | None = None


def note_for(code: str, computed: Computed) -> str:
    """Why a KPI has no value where the reason is not obvious (shared by both paths)."""
    if SPECS[code].kind is Kind.PRODUCTIVITY and not computed.denominator:
        return "no worked hours recorded"
    return ""


def compute(code: str, totals: Totals) -> Computed:
    """The KPI's value from totals (every kind but the backlog, computed apart)."""
    spec = SPECS[code]
    c = totals.counts
    if spec.kind is Kind.COUNT:
        n = int(c[spec.numerator])
        return Computed(value=float(n), numerator=n, count=n)
    if spec.kind in (Kind.RATE, Kind.UTILIZATION, Kind.PRODUCTIVITY, Kind.DOCUMENTATION):
        num, den = c[spec.numerator], c[spec.denominator]
        value = ratio(num, den, scale=spec.scale)
        count = int(c["completed"]) if spec.kind is Kind.PRODUCTIVITY else int(den)
        if spec.kind is Kind.UTILIZATION:
            count = int(c["begun"])
        return Computed(value=value, numerator=num, denominator=den, count=count)
    if spec.kind is Kind.TURNAROUND:
        from radflow.core.kpis.rollup import HIST_FIELDS

        count_field, sum_field = HIST_FIELDS[spec.measure]
        n = int(c[count_field])
        hist = totals.hist.get(spec.measure, {})
        per = spec.minutes_per_unit
        p50, p90 = percentile(hist, 0.5), percentile(hist, 0.9)
        mean = ratio(c[sum_field], n, scale=1 / 60 / per)
        return Computed(
            value=None if p50 is None else p50 / per,
            numerator=c[sum_field] / 60 / per,
            denominator=n,
            count=n,
            p50=None if p50 is None else p50 / per,
            p90=None if p90 is None else p90 / per,
            mean=mean,
        )
    if spec.kind is Kind.QUALITY:
        measures = spec.numerator.split("+")  # several quality measures may add up
        total = sum(float(c[f"{m}:total"]) for m in measures) / 1000
        n = sum(int(c[f"{m}:count"]) for m in measures)
        if code in QUALITY_COUNTS:
            return Computed(value=float(n), numerator=total, count=n)
        return Computed(
            value=ratio(total, n, scale=spec.scale), numerator=total, denominator=n, count=n
        )
    raise ValueError(f"{code} is not computed from totals")
