"""What the KPI engine answers with, and the filters it takes: plain values, no Django.

Dashboards, the report pack and the quality program share these, so they are kept here where any
layer may import them (the contract in the KPI issue note lists them too).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import date
from enum import StrEnum
from typing import Any
from uuid import UUID


class Direction(StrEnum):
    """Which way is better."""

    HIGHER = "higher"
    LOWER = "lower"


class Status(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    NONE = "none"


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, starting on Monday
    MONTH = "month"


class Dimension(StrEnum):
    """What a filter restricts and a breakdown groups by."""

    SITE = "site"
    MODALITY = "modality"
    ROOM = "room"
    STAFF = "staff"
    EXAM_TYPE = "exam_type"
    REFERRER = "referrer"
    PAYER = "payer"
    PATIENT_CLASS = "patient_class"
    PRIORITY = "priority"
    REASON = "reason"


#: Filter field of ``KpiFilters`` for each dimension (REASON is a breakdown only).
FILTER_FIELD: dict[Dimension, str] = {
    Dimension.SITE: "sites",
    Dimension.MODALITY: "modalities",
    Dimension.ROOM: "rooms",
    Dimension.STAFF: "staff",
    Dimension.EXAM_TYPE: "exam_types",
    Dimension.REFERRER: "referrers",
    Dimension.PAYER: "payers",
    Dimension.PATIENT_CLASS: "patient_classes",
    Dimension.PRIORITY: "priorities",
}
_UUID_FIELDS = frozenset({"sites", "rooms", "staff", "exam_types", "payers"})


def _as_key(name: str, value: Any) -> Any:
    """A model instance, a UUID or its text, or a code, as the value a filter set holds."""
    value = getattr(value, "pk", value)
    if name in _UUID_FIELDS:
        return value if isinstance(value, UUID) else UUID(str(value))
    return str(value)


@dataclass(frozen=True)
class KpiFilters:
    """Restrictions on the exams a KPI counts: empty means all; OR within a set, AND across."""

    sites: frozenset[UUID] = frozenset()
    modalities: frozenset[str] = frozenset()
    rooms: frozenset[UUID] = frozenset()
    #: The exam's performer (sonographer or technologist).
    staff: frozenset[UUID] = frozenset()
    exam_types: frozenset[UUID] = frozenset()
    #: The referrer key: the ordering provider's NPI, else the provider's name as written.
    referrers: frozenset[str] = frozenset()
    payers: frozenset[UUID] = frozenset()
    patient_classes: frozenset[str] = frozenset()
    priorities: frozenset[str] = frozenset()

    @classmethod
    def of(cls, **given: Any) -> KpiFilters:
        """``KpiFilters.of(sites=site, modalities=["US"])``: single values, iterables, model
        instances, UUIDs or their text; ``None`` and empty values are left out."""
        values: dict[str, frozenset[Any]] = {}
        names = {f.name for f in fields(cls)}
        for name, raw in given.items():
            if name not in names:
                raise TypeError(f"KpiFilters has no filter {name!r}")
            if raw is None or raw == "":
                continue
            items: Iterable[Any] = raw if isinstance(raw, list | tuple | set | frozenset) else [raw]
            kept = (item for item in items if item not in ("", None))
            values[name] = frozenset(_as_key(name, item) for item in kept)
        return cls(**values)

    def dimensions(self) -> set[Dimension]:
        """The dimensions this filter restricts."""
        return {dim for dim, name in FILTER_FIELD.items() if getattr(self, name)}

    def is_empty(self) -> bool:
        return not self.dimensions()

    def narrow(self, dimension: Dimension | str, key: Any) -> KpiFilters:
        """This filter with ``dimension`` restricted to ``key`` (a breakdown bar's drill-down)."""
        name = FILTER_FIELD[Dimension(dimension)]
        return replace(self, **{name: frozenset({_as_key(name, key)})})


@dataclass(frozen=True)
class KpiValue:
    code: str
    name: str
    unit: str
    direction: Direction
    #: The headline in the KPI's unit: a rate, a count, a mean or (turnaround) the median.
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    count: int = 0
    p50: float | None = None
    p90: float | None = None
    mean: float | None = None
    target: float | None = None
    amber: float | None = None
    red: float | None = None
    reference: float | None = None
    reference_label: str = ""
    status: Status = Status.NONE
    note: str = ""
    source: str = ""


@dataclass(frozen=True)
class TrendPoint:
    period: date
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    count: int = 0
    status: Status = Status.NONE


@dataclass(frozen=True)
class BreakdownRow:
    key: str
    label: str
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    count: int = 0


#: What the quality program reports per day (see the contract).
QUALITY_MEASURES = (
    "qa_score",
    "peer_review_discrepancy",
    "incidents",
    "complaints",
    "complaint_resolution_hours",
    "satisfaction",
    "interpreter_requests_met",
    "accessibility_requests_met",
)


@dataclass(frozen=True)
class QualityPoint:
    """One day's total and count of one quality measure (several per day are summed)."""

    day: date
    measure: str
    total: float
    count: int
