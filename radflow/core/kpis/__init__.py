"""KPI formulas and types without Django: percentiles, rates, RAG, third-next-available and the
rules by which each exam counts in the daily rollups."""

from __future__ import annotations

from radflow.core.kpis.backlog import third_next_available
from radflow.core.kpis.rag import check_thresholds, rag_status
from radflow.core.kpis.stats import percentile, ratio
from radflow.core.kpis.types import (
    FILTER_FIELD,
    QUALITY_MEASURES,
    BreakdownRow,
    Dimension,
    Direction,
    Grain,
    KpiFilters,
    KpiValue,
    QualityPoint,
    Status,
    TrendPoint,
)

__all__ = [
    "FILTER_FIELD",
    "QUALITY_MEASURES",
    "BreakdownRow",
    "Dimension",
    "Direction",
    "Grain",
    "KpiFilters",
    "KpiValue",
    "QualityPoint",
    "Status",
    "TrendPoint",
    "check_thresholds",
    "percentile",
    "rag_status",
    "ratio",
    "third_next_available",
]
