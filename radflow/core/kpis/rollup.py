"""What one exam adds to the daily rollups: the rules every KPI is counted by, in one place.

Each event counts on the department-local day it happened, with the exam's dimensions:

- ``orders``: the order was received (``requested_at``).
- ``scheduled`` + order→scheduled time: first booked (``scheduled_at``; a reschedule is not a
  new booking).
- on the day the exam began (``in_progress_at``): ``begun`` + order→exam (access) time, the
  arrival→start wait when the patient was checked in, STAT/urgent clock met or not, and, once it
  ended, ``completed`` + exam duration + RVUs, or ``discontinued``. An exam that runs past
  midnight counts (volume, duration) on the day it began.
- scanned time (room utilization, productivity) is split at local midnight over the days the
  scan ran (begin to completion or discontinuation), so a day's scanned minutes never exceed it.
- ``reported`` + end→preliminary report time on the report's day; ``signed`` + report→signature
  time on the signature's day.
- on the appointment's day (``scheduled_start``), once its outcome is known: due
  (``appt_due``), no-show, same-day cancellation (cancelled on the day or later, or after the
  patient arrived), completed; the reason code of no-shows and cancellations goes with them.
- each hard-stop override counts on its own day.
- documentation: an exam performed (begun, and now completed, reported, signed or billed) counts
  on the day it began, with a gap when the documentation audit's rules find one at the time of
  counting (``DocRules``: unreported a day after completion, unsigned a day after the report,
  signed but unbilled three days on, billed without a charge, no images, no consent where the
  exam type needs one). Those rules move with the clock, so only days older than
  ``DocRules.settle_days`` are read from the rollups; the recent days are counted live.

Sums are whole seconds; histograms hold minutes (``radflow.core.kpis.stats``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from radflow.core.kpis.stats import bucket_of

#: Integer columns of every rollup row.
COUNT_FIELDS: tuple[str, ...] = (
    "orders",
    "scheduled",
    "begun",
    "completed",
    "discontinued",
    "reported",
    "signed",
    "wait_n",
    "sched_s",
    "access_s",
    "wait_s",
    "duration_s",
    "report_s",
    "sign_s",
    "scanned_s",
    "rvu_milli",
    "stat_n",
    "stat_met",
    "urgent_n",
    "urgent_met",
    "appt_due",
    "no_show",
    "same_day_cancel",
    "cancel_after_arrival",
    "appt_completed",
    "overrides",
    "performed",
    "doc_gap",
)

#: Measures with a histogram (percentiles), and the count and sum columns they go with.
HIST_FIELDS: dict[str, tuple[str, str]] = {
    "sched": ("scheduled", "sched_s"),
    "access": ("begun", "access_s"),
    "wait": ("wait_n", "wait_s"),
    "duration": ("completed", "duration_s"),
    "report": ("reported", "report_s"),
    "sign": ("signed", "sign_s"),
}

#: The dimensions of the fine rollup, in key order.
KEY_FIELDS: tuple[str, ...] = (
    "site",
    "room",
    "modality",
    "exam_type",
    "patient_class",
    "priority",
    "payer",
    "performer",
    "referrer",
)
#: The coarse rollup's dimensions (the director's dashboard): a projection of the fine key.
SITE_KEY_FIELDS: tuple[str, ...] = ("site", "modality")
_SITE_INDEXES = tuple(KEY_FIELDS.index(name) for name in SITE_KEY_FIELDS)

Key = tuple[Any, ...]

NO_SHOW, CANCEL = "no_show", "cancel"


@dataclass(frozen=True, slots=True)
class ExamFact:
    """The fields of one exam (and its order) the KPIs are computed from."""

    key: Key  # values in KEY_FIELDS order; None/"" when unknown
    requested_at: datetime
    scheduled_at: datetime | None = None
    scheduled_start: datetime | None = None
    arrived_at: datetime | None = None
    in_progress_at: datetime | None = None
    completed_at: datetime | None = None
    discontinued_at: datetime | None = None
    reported_at: datetime | None = None
    signed_at: datetime | None = None
    cancelled_at: datetime | None = None
    no_show_at: datetime | None = None
    sla_due_at: datetime | None = None
    reason_code: str = ""
    rvu_milli: int = 0
    overrides: tuple[datetime, ...] = ()
    #: Documentation audit inputs.
    state: str = ""
    images_count: int | None = None
    has_charge: bool = False
    has_consent: bool = False
    consent_required: bool = False

    @property
    def priority(self) -> str:
        return str(self.key[KEY_FIELDS.index("priority")])


@dataclass(frozen=True)
class DocRules:
    """The documentation audit's clocks (``exams.selectors.AuditRules``) and the moment of the
    count; ``settle_days``: after how many days an exam's gaps no longer change by time alone."""

    now: datetime
    report_hours: int = 24
    sign_hours: int = 24
    bill_days: int = 3

    @property
    def settle_days(self) -> int:
        return max(self.bill_days, -(-max(self.report_hours, self.sign_hours) // 24)) + 1


PERFORMED_STATES = frozenset({"completed", "reported", "signed", "billed"})


def _before(at: datetime | None, now: datetime, *, hours: int) -> bool:
    """``at`` lies more than ``hours`` before ``now``."""
    return at is not None and at < now - timedelta(hours=hours)


def documentation_gap(fact: ExamFact, rules: DocRules) -> bool:
    """Whether the documentation audit finds a gap in a performed exam at ``rules.now``."""
    now, state = rules.now, fact.state
    late = (
        (state == "completed" and _before(fact.completed_at, now, hours=rules.report_hours))
        or (state == "reported" and _before(fact.reported_at, now, hours=rules.sign_hours))
        or (state == "signed" and _before(fact.signed_at, now, hours=24 * rules.bill_days))
    )
    if late or fact.images_count == 0 or (state == "billed" and not fact.has_charge):
        return True
    return fact.consent_required and not fact.has_consent


class LocalCalendar:
    """Department-local days of UTC instants, DST-correct (23- and 25-hour days)."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone

    def day_of(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def midnight(self, day: date) -> datetime:
        """The UTC instant the local day starts."""
        return datetime.combine(day, time(0), tzinfo=self.zone).astimezone(UTC)

    def split(self, start: datetime, end: datetime) -> list[tuple[date, int]]:
        """Whole seconds of ``[start, end)`` on each local day it touches."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        parts: list[tuple[date, int]] = []
        day = self.day_of(start)
        while start < end:
            boundary = self.midnight(day + timedelta(days=1))
            stop = min(end, boundary)
            parts.append((day, int((stop - start).total_seconds())))
            start, day = stop, day + timedelta(days=1)
        return parts


def _seconds(later: datetime, earlier: datetime) -> int:
    """Real elapsed whole seconds (in UTC: two times in one local zone subtract by the clock)."""
    return max(0, int((later.astimezone(UTC) - earlier.astimezone(UTC)).total_seconds()))


class Row:
    """One rollup row being built: counts and histograms."""

    __slots__ = ("counts", "hist")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.hist: dict[str, dict[int, int]] = {}

    def add(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    def observe(self, measure: str, seconds: int) -> None:
        count_field, sum_field = HIST_FIELDS[measure]
        counts = self.counts
        counts[count_field] = counts.get(count_field, 0) + 1
        counts[sum_field] = counts.get(sum_field, 0) + seconds
        bucket = bucket_of(seconds / 60)
        hist = self.hist.setdefault(measure, {})
        hist[bucket] = hist.get(bucket, 0) + 1

    def merge(self, other: Row) -> None:
        for name, amount in other.counts.items():
            self.counts[name] = self.counts.get(name, 0) + amount
        for measure, buckets in other.hist.items():
            mine = self.hist.setdefault(measure, {})
            for bucket, n in buckets.items():
                mine[bucket] = mine.get(bucket, 0) + n


class Accumulator:
    """Adds up exams' contributions by (day, key), keeping only days in ``[first, last]``."""

    def __init__(
        self, calendar: LocalCalendar, first: date, last: date, rules: DocRules | None = None
    ) -> None:
        self.calendar = calendar
        self.first, self.last = first, last
        self.rules = rules
        self.rows: dict[tuple[date, Key], Row] = {}
        self.reasons: dict[tuple[date, Key, str, str], int] = {}

    def _row(self, day: date, key: Key) -> Row | None:
        if day < self.first or day > self.last:
            return None
        row = self.rows.get((day, key))
        if row is None:
            row = self.rows[(day, key)] = Row()
        return row

    def add(self, day: date, key: Key, name: str, amount: int = 1) -> None:
        row = self._row(day, key)
        if row is not None:
            row.add(name, amount)

    def observe(self, day: date, key: Key, measure: str, seconds: int) -> None:
        row = self._row(day, key)
        if row is not None:
            row.observe(measure, seconds)

    def reason(self, day: date, key: Key, kind: str, code: str) -> None:
        if self.first <= day <= self.last:
            slot = (day, key, kind, code)
            self.reasons[slot] = self.reasons.get(slot, 0) + 1

    def add_exam(self, fact: ExamFact) -> None:
        contribute(fact, self.calendar, self)

    def site_rows(self) -> dict[tuple[date, Key], Row]:
        """The fine rows projected on the coarse key (site, modality)."""
        result: dict[tuple[date, Key], Row] = {}
        for (day, key), row in self.rows.items():
            coarse = (day, tuple(key[i] for i in _SITE_INDEXES))
            target = result.get(coarse)
            if target is None:
                target = result[coarse] = Row()
            target.merge(row)
        return result


def contribute(fact: ExamFact, calendar: LocalCalendar, into: Accumulator) -> None:
    """Add one exam's events to ``into`` (the rules in the module docstring)."""
    key = fact.key
    day_of = calendar.day_of
    into.add(day_of(fact.requested_at), key, "orders")
    if fact.scheduled_at is not None:
        into.observe(
            day_of(fact.scheduled_at), key, "sched", _seconds(fact.scheduled_at, fact.requested_at)
        )
    begun = fact.in_progress_at
    if begun is not None:
        day = day_of(begun)
        into.observe(day, key, "access", _seconds(begun, fact.requested_at))
        if fact.arrived_at is not None:
            into.observe(day, key, "wait", _seconds(begun, fact.arrived_at))
        priority = fact.priority
        if priority in ("stat", "urgent") and fact.sla_due_at is not None:
            into.add(day, key, f"{priority}_n")
            if begun.astimezone(UTC) <= fact.sla_due_at.astimezone(UTC):
                into.add(day, key, f"{priority}_met")
        if fact.completed_at is not None:
            into.observe(day, key, "duration", _seconds(fact.completed_at, begun))
            if fact.rvu_milli:
                into.add(day, key, "rvu_milli", fact.rvu_milli)
        elif fact.discontinued_at is not None:
            into.add(day, key, "discontinued")
        ended = fact.completed_at or fact.discontinued_at
        if ended is not None:
            for part_day, seconds in calendar.split(begun, ended):
                if seconds:
                    into.add(part_day, key, "scanned_s", seconds)
    if fact.reported_at is not None and fact.completed_at is not None:
        into.observe(
            day_of(fact.reported_at), key, "report", _seconds(fact.reported_at, fact.completed_at)
        )
    if fact.signed_at is not None and fact.reported_at is not None:
        into.observe(
            day_of(fact.signed_at), key, "sign", _seconds(fact.signed_at, fact.reported_at)
        )
    _appointment(fact, calendar, into)
    for at in fact.overrides:
        into.add(day_of(at), key, "overrides")
    if begun is not None and fact.state in PERFORMED_STATES and into.rules is not None:
        day = day_of(begun)
        into.add(day, key, "performed")
        if documentation_gap(fact, into.rules):
            into.add(day, key, "doc_gap")


def _appointment(fact: ExamFact, calendar: LocalCalendar, into: Accumulator) -> None:
    """The appointment's outcome on its own day: only once it is known."""
    if fact.scheduled_start is None:
        return
    key = fact.key
    day = calendar.day_of(fact.scheduled_start)
    if fact.no_show_at is not None:
        into.add(day, key, "appt_due")
        into.add(day, key, "no_show")
        into.reason(day, key, NO_SHOW, fact.reason_code)
    elif fact.cancelled_at is not None and (
        fact.arrived_at is not None or calendar.day_of(fact.cancelled_at) >= day
    ):
        into.add(day, key, "appt_due")
        into.add(day, key, "same_day_cancel")
        if fact.arrived_at is not None:
            into.add(day, key, "cancel_after_arrival")
        into.reason(day, key, CANCEL, fact.reason_code)
    elif fact.arrived_at is not None:
        into.add(day, key, "appt_due")
        if fact.completed_at is not None:
            into.add(day, key, "appt_completed")


def accumulate(
    facts: Iterable[ExamFact],
    zone: ZoneInfo,
    first: date,
    last: date,
    rules: DocRules | None = None,
) -> Accumulator:
    acc = Accumulator(LocalCalendar(zone), first, last, rules)
    for fact in facts:
        contribute(fact, acc.calendar, acc)
    return acc


def days_touched(fact: ExamFact, calendar: LocalCalendar) -> set[date]:
    """Every day this exam contributes to (what a change to it may alter)."""
    stamps = [
        fact.requested_at,
        fact.scheduled_at,
        fact.scheduled_start,
        fact.in_progress_at,
        fact.completed_at,
        fact.discontinued_at,
        fact.reported_at,
        fact.signed_at,
        fact.cancelled_at,
        fact.no_show_at,
        *fact.overrides,
    ]
    days = {calendar.day_of(at) for at in stamps if at is not None}
    ended = fact.completed_at or fact.discontinued_at
    if fact.in_progress_at is not None and ended is not None:
        days.update(day for day, _ in calendar.split(fact.in_progress_at, ended))
    return days
