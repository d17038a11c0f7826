"""Probe reprocessing rules (Spaulding classification, AIUM guidance), from plain facts.

What a reprocessing cycle achieved, whether a probe may touch the next patient, which exams shared
a probe between two good cycles (the look-back), how long a probe waited for its cycle, and when a
solution test or a device check is due. The infection app's services and selectors read the rows
and hand them here, so the rules are tested without a database.
"""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum


class Level(StrEnum):
    """How clean a cycle left the probe: what each Spaulding class needs between patients."""

    NONE = "none"
    LOW = "low"
    HIGH = "high"
    STERILE = "sterile"


_RANK = {Level.NONE: 0, Level.LOW: 1, Level.HIGH: 2, Level.STERILE: 3}


class Method(StrEnum):
    LLD_WIPE = "lld_wipe"
    HLD_SOAK = "hld_soak"
    HLD_AUTOMATED = "hld_automated"
    STERILIZATION = "sterilization"


#: The level a method reaches when everything about the cycle passed.
METHOD_LEVEL: dict[Method, Level] = {
    Method.LLD_WIPE: Level.LOW,
    Method.HLD_SOAK: Level.HIGH,
    Method.HLD_AUTOMATED: Level.HIGH,
    Method.STERILIZATION: Level.STERILE,
}

#: What a probe of each Spaulding class needs before its next patient.
REQUIRED_LEVEL: dict[str, Level] = {
    "non_critical": Level.LOW,
    "semi_critical": Level.HIGH,
    "critical": Level.STERILE,
}

#: Classes whose reprocessing is a hard stop (a non-critical probe is wiped, not blocked).
GUARDED_CLASSES = frozenset({"semi_critical", "critical"})


def meets(level: Level | str, required: Level | str) -> bool:
    return _RANK[Level(level)] >= _RANK[Level(required)]


# --- one cycle ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CycleFacts:
    method: Method
    #: The cycle's own verdict (the device's printout, or the operator's for a manual soak).
    result_passed: bool
    #: The chemical indicator or test strip read for this cycle: "pass", "fail" or "not_read".
    indicator: str
    exposure_met: bool
    #: Why the agent or the device could not be relied on (expired, discarded, device down);
    #: empty when both were fine.
    agent_problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class CycleOutcome:
    level: Level
    #: Why the cycle does not count (empty when it reached its method's level).
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def cycle_outcome(facts: CycleFacts) -> CycleOutcome:
    """A cycle counts only when its result, its indicator, its exposure time and its agent all
    pass; anything else leaves the probe as dirty as before (level ``none``)."""
    problems: list[str] = []
    if not facts.result_passed:
        problems.append("the cycle failed")
    if facts.indicator == "fail":
        problems.append("the chemical indicator / test strip failed")
    elif facts.indicator != "pass" and facts.method is not Method.LLD_WIPE:
        problems.append("no chemical indicator / test strip was read")
    if not facts.exposure_met:
        problems.append("the minimum exposure time was not met")
    problems.extend(facts.agent_problems)
    if problems:
        return CycleOutcome(Level.NONE, tuple(problems))
    return CycleOutcome(METHOD_LEVEL[facts.method], ())


def agent_problems(
    *,
    label: str,
    expires_on: date | None,
    opened_on: date | None,
    use_life_days: int | None,
    discarded_at: datetime | None,
    at: datetime,
    on: date,
) -> tuple[str, ...]:
    """Why a disinfectant (its lot, or its opened solution) may not be used at ``at`` (``on``
    being that moment's department day)."""
    problems: list[str] = []
    if discarded_at is not None and discarded_at <= at:
        problems.append(f"{label} was discarded")
    if expires_on is not None and on > expires_on:
        problems.append(f"{label} expired on {expires_on.isoformat()}")
    if opened_on is not None and use_life_days is not None:
        last_day = opened_on + timedelta(days=use_life_days - 1)
        if on > last_day:
            problems.append(
                f"{label} was opened on {opened_on.isoformat()}: its {use_life_days}-day use "
                f"life ended on {last_day.isoformat()}"
            )
    return tuple(problems)


# --- a probe's history: uses and cycles -------------------------------------------------------


@dataclass(frozen=True)
class Use:
    """A probe touching a patient: ``at`` is when the exam began with it (or when it was
    attached, if later); ``ended`` when the exam ended, if it has."""

    ref: Hashable
    exam: Hashable
    at: datetime
    ended: datetime | None = None


@dataclass(frozen=True)
class Cycle:
    ref: Hashable
    #: When the cycle ended: the probe is clean from then (a use that began before the end of a
    #: cycle was before it, whatever the clocks say about the start).
    at: datetime
    level: Level


def clearing(cycles: Iterable[Cycle], required: Level) -> list[Cycle]:
    """The cycles that reached ``required``, oldest first."""
    return sorted((c for c in cycles if meets(c.level, required)), key=lambda c: c.at)


def last_clearing(
    cycles: Iterable[Cycle], required: Level, *, before: datetime | None = None
) -> Cycle | None:
    found = [c for c in clearing(cycles, required) if before is None or c.at < before]
    return found[-1] if found else None


def uses_since_clear(
    uses: Iterable[Use],
    cycles: Iterable[Cycle],
    required: Level,
    *,
    since: datetime | None = None,
    exclude_exam: Hashable | None = None,
) -> list[Use]:
    """The uses since the probe last reached ``required`` (and since ``since``, an infection
    preventionist's override): a non-empty answer means it may not touch another patient."""
    last = last_clearing(cycles, required)
    floor = max((t for t in (last.at if last else None, since) if t is not None), default=None)
    return sorted(
        (
            u
            for u in uses
            if (floor is None or u.at > floor) and (exclude_exam is None or u.exam != exclude_exam)
        ),
        key=lambda u: u.at,
    )


@dataclass(frozen=True)
class Window:
    """The stretch between two passing reprocessings: every patient inside shared the probe."""

    opened_by: Cycle | None  # None: the probe's first recorded use
    closed_by: Cycle | None  # None: not passed a cycle since

    def contains(self, at: datetime) -> bool:
        after_open = self.opened_by is None or at > self.opened_by.at
        before_close = self.closed_by is None or at < self.closed_by.at
        return after_open and before_close


def window_around(cycles: Iterable[Cycle], required: Level, at: datetime) -> Window:
    """The passing cycles on either side of ``at`` (a use, or a failed cycle)."""
    passing = clearing(cycles, required)
    before = [c for c in passing if c.at < at]
    after = [c for c in passing if c.at > at]
    return Window(before[-1] if before else None, after[0] if after else None)


def exposed_uses(
    uses: Iterable[Use], cycles: Sequence[Cycle], required: Level, at: datetime
) -> tuple[Window, list[Use]]:
    """Look-back: the window around ``at`` and every use inside it, oldest first."""
    window = window_around(cycles, required, at)
    return window, sorted((u for u in uses if window.contains(u.at)), key=lambda u: u.at)


def turnarounds(
    uses: Iterable[Use], cycles: Iterable[Cycle], required: Level
) -> list[tuple[Use, timedelta]]:
    """For each use, the time from the end of its exam (its start when the end is unknown) to
    the next cycle that reached ``required``; uses still waiting are left out."""
    passing = clearing(cycles, required)
    found: list[tuple[Use, timedelta]] = []
    for use in sorted(uses, key=lambda u: u.at):
        nxt = next((c for c in passing if c.at > use.at), None)
        if nxt is not None:
            found.append((use, max(nxt.at - (use.ended or use.at), timedelta(0))))
    return found


@dataclass(frozen=True)
class TurnaroundSummary:
    count: int
    median: timedelta | None
    p90: timedelta | None


def summarise(durations: Sequence[timedelta]) -> TurnaroundSummary:
    if not durations:
        return TurnaroundSummary(0, None, None)
    seconds = sorted(d.total_seconds() for d in durations)
    p90 = seconds[min(len(seconds) - 1, round(0.9 * (len(seconds) - 1)))]
    return TurnaroundSummary(
        len(seconds), timedelta(seconds=statistics.median(seconds)), timedelta(seconds=p90)
    )


# --- schedules of solution tests and device checks -------------------------------------------


class Frequency(StrEnum):
    PER_CYCLE = "per_cycle"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    NOT_REQUIRED = "not_required"


_INTERVAL_DAYS = {Frequency.DAILY: 1, Frequency.WEEKLY: 7, Frequency.MONTHLY: 30}


class QcState(StrEnum):
    OK = "ok"
    DUE = "due"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class QcStatus:
    state: QcState
    due_on: date | None
    detail: str


def qc_status(
    frequency: Frequency | str,
    *,
    last_done: date | None,
    today: date,
    cycles_since_last: int = 0,
) -> QcStatus:
    """Whether a test or check is done, due today, or overdue.

    Daily, weekly and monthly checks are due the day their interval after the last one ends and
    overdue the day after. A per-cycle test comes before each cycle: it is overdue once a cycle
    ran without one (``cycles_since_last``), and otherwise simply needed before the next.
    """
    kind = Frequency(frequency)
    if kind is Frequency.NOT_REQUIRED:
        return QcStatus(QcState.OK, None, "No scheduled test.")
    if kind is Frequency.PER_CYCLE:
        if cycles_since_last > 0:
            plural = "s" if cycles_since_last != 1 else ""
            return QcStatus(
                QcState.OVERDUE, today, f"{cycles_since_last} cycle{plural} ran without a test."
            )
        return QcStatus(QcState.OK, None, "Test before each cycle.")
    if last_done is None:
        return QcStatus(QcState.OVERDUE, today, "Never done.")
    due_on = last_done + timedelta(days=_INTERVAL_DAYS[kind])
    if today < due_on:
        return QcStatus(QcState.OK, due_on, f"Next due {due_on.isoformat()}.")
    if today == due_on:
        return QcStatus(QcState.DUE, due_on, "Due today.")
    days = (today - due_on).days
    plural = "s" if days != 1 else ""
    return QcStatus(
        QcState.OVERDUE, due_on, f"Overdue since {due_on.isoformat()} ({days} day{plural} late)."
    )
