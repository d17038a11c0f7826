"""The quality program's arithmetic, in plain Python (no Django): testable without a database.

Sampling is seeded by names that survive a database copy (the seed, the month, an employee number
and accession numbers), never by primary keys or insertion order, so the same month drawn again,
on another server or after a restore, picks the same exams.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

ONE_DECIMAL = Decimal("0.1")


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(month: date) -> date:
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def months_between(since: date, until: date) -> list[date]:
    """First days of every month from ``since``'s to ``until``'s, both included."""
    months: list[date] = []
    current, last = month_start(since), month_start(until)
    while current <= last:
        months.append(current)
        current = next_month(current)
    return months


def seeded_order(candidates: Iterable[str], *, seed: str, month: date, person: str) -> list[str]:
    """The candidates in a seeded random order; the sample is its head.

    Candidates are sorted first so the order never depends on how the database returned them;
    a top-up (a larger sample size, or exams completed late) takes the next candidates of the
    same order, so what was drawn before stays drawn.
    """
    ordered = sorted(set(candidates))
    # Not cryptography: a reproducible draw an auditor can repeat from the seed.
    rng = random.Random(f"{seed}:{month:%Y-%m}:{person}")  # noqa: S311
    rng.shuffle(ordered)
    return ordered


def draw_sample(
    candidates: Iterable[str], *, size: int, seed: str, month: date, person: str
) -> list[str]:
    """``size`` of the candidates (all when fewer), reproducibly for the same inputs."""
    return seeded_order(candidates, seed=seed, month=month, person=person)[: max(0, size)]


def pick_reviewer(
    candidates: Sequence[str], *, load: dict[str, int], rng: random.Random
) -> str | None:
    """The least-loaded candidate reviewer, ties broken by ``rng`` (which the caller seeds)."""
    if not candidates:
        return None
    fewest = min(load.get(c, 0) for c in candidates)
    tied = sorted(c for c in candidates if load.get(c, 0) == fewest)
    return rng.choice(tied)


# --- audit scores ------------------------------------------------------------------------------

#: Share of an item's points a pass/partial/fail earns.
RESULT_SHARE = {"pass": Decimal(1), "partial": Decimal("0.5"), "fail": Decimal(0)}


@dataclass(frozen=True)
class ItemScore:
    """One checklist item as scored: ``result`` for pass/partial/fail items (``na`` leaves the
    item out), ``points`` for points items."""

    max_points: int
    result: str = ""
    points: Decimal | None = None


@dataclass(frozen=True)
class AuditTotal:
    earned: Decimal
    possible: Decimal

    @property
    def percent(self) -> Decimal | None:
        if not self.possible:
            return None
        return (self.earned * 100 / self.possible).quantize(ONE_DECIMAL, ROUND_HALF_UP)


def audit_total(scores: Iterable[ItemScore]) -> AuditTotal:
    earned = possible = Decimal(0)
    for score in scores:
        if score.result == "na":
            continue
        if score.result:
            earned += RESULT_SHARE[score.result] * score.max_points
        else:
            earned += score.points or Decimal(0)
        possible += score.max_points
    return AuditTotal(earned=earned, possible=possible)


# --- working days and resolution times ----------------------------------------------------------


def add_working_days(start: date, days: int, *, is_holiday: Callable[[date], bool]) -> date:
    """``days`` working days after ``start`` (Monday to Friday, holidays skipped).

    A complaint received on a Friday with 5 working days is due the next Friday; received on a
    Saturday, the count starts on Monday as if received then.
    """
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and not is_holiday(current):
            left -= 1
    return current


def median_days(pairs: Iterable[tuple[date, date]]) -> float | None:
    """Median of (end - start) in days, or None when there is nothing to measure."""
    spans = [(end - start).days for start, end in pairs]
    return float(median(spans)) if spans else None


# --- satisfaction --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Nps:
    promoters: int
    passives: int
    detractors: int

    @property
    def answered(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), -100 to 100."""
        if not self.answered:
            return None
        return round(100 * (self.promoters - self.detractors) / self.answered, 1)


def nps(answers: Iterable[int]) -> Nps:
    promoters = passives = detractors = 0
    for value in answers:
        if value >= 9:
            promoters += 1
        elif value >= 7:
            passives += 1
        else:
            detractors += 1
    return Nps(promoters, passives, detractors)


def redact(text: str, names: Iterable[str]) -> str:
    """``text`` with each of ``names`` (case-insensitive, whole words) replaced by "[reader]":
    a signature line in a report must not unblind a peer review."""
    words = sorted({n.strip() for n in names if n and len(n.strip()) > 1}, key=len, reverse=True)
    if not words:
        return text
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b", re.IGNORECASE)
    return pattern.sub("[reader]", text)
