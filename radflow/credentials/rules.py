"""The eligibility and CE arithmetic on plain values: no Django, no queries.

``selectors`` gathers a person's credentials and sign-offs and asks these functions; keeping the
rules here lets them be tested (and reused by the roster solver's skill sets) without a database.
A credential counts from its issue date through its expiry date (inclusive) once it is verified;
a competency counts from its sign-off through ``valid_until`` (inclusive).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

DAY = timedelta(days=1)
MAX_NAMED_OPTIONS = 3


@dataclass(frozen=True)
class Eligibility:
    """The answer to "may this person perform this exam on this date", with what is missing."""

    ok: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class HeldCredential:
    type_code: str
    type_name: str
    issued_on: date
    expires_on: date | None
    verified: bool

    def current_on(self, on: date) -> bool:
        return (
            self.verified
            and self.issued_on <= on
            and (self.expires_on is None or on <= self.expires_on)
        )


@dataclass(frozen=True)
class Requirement:
    """One current credential of any of ``type_codes`` is needed."""

    label: str
    type_codes: frozenset[str]
    type_names: tuple[str, ...]


@dataclass(frozen=True)
class HeldCompetency:
    code: str
    name: str
    signed_off_on: date
    valid_until: date

    def current_on(self, on: date) -> bool:
        return self.signed_off_on <= on <= self.valid_until


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def requirement_problem(
    requirement: Requirement, held: Iterable[HeldCredential], on: date
) -> str | None:
    """None when met; otherwise what is wrong, naming the credential and the date."""
    candidates = [c for c in held if c.type_code in requirement.type_codes]
    if any(c.current_on(on) for c in candidates):
        return None
    if not candidates:
        # Name the options when there are few; a long list would drown the reason.
        names = requirement.type_names
        options = f" ({' or '.join(names)})" if len(names) <= MAX_NAMED_OPTIONS else ""
        return f"no {requirement.label} credential{options}"
    unverified = [c for c in candidates if not c.verified]
    expired = [
        c for c in candidates if c.verified and c.expires_on is not None and c.expires_on < on
    ]
    if expired:
        last = max(expired, key=lambda c: c.expires_on or on)
        text = f"{last.type_name} expired on {last.expires_on}"
        if unverified:
            text += " (renewal not verified yet)"
        return text
    if unverified:
        return f"{unverified[0].type_name} not verified yet"
    first = min(candidates, key=lambda c: c.issued_on)
    return f"{first.type_name} not valid before {first.issued_on}"


def competency_problem(code: str, name: str, held: HeldCompetency | None, on: date) -> str | None:
    if held is not None and held.current_on(on):
        return None
    if held is None:
        return f"no current {name} competency (never signed off)"
    if held.signed_off_on > on:
        return f"no current {name} competency (signed off only on {held.signed_off_on})"
    return f"no current {name} competency (lapsed {held.valid_until + DAY})"


def evaluate(
    *,
    on: date,
    active: bool,
    requirements: Sequence[Requirement],
    credentials: Sequence[HeldCredential],
    competencies: Sequence[tuple[str, str]],
    signoffs: dict[str, HeldCompetency],
) -> Eligibility:
    """Every unmet requirement (credentials first, then competencies), each named once."""
    reasons: list[str] = []
    if not active:
        reasons.append("not an active staff member")
    for requirement in requirements:
        problem = requirement_problem(requirement, credentials, on)
        if problem is not None and problem not in reasons:
            reasons.append(problem)
    for code, name in competencies:
        problem = competency_problem(code, name, signoffs.get(code), on)
        if problem is not None:
            reasons.append(problem)
    return Eligibility(ok=not reasons, reasons=tuple(reasons))


@dataclass(frozen=True)
class CECycle:
    start: date
    end: date  # exclusive: the next cycle starts here
    required: Decimal
    earned: Decimal

    @property
    def shortfall(self) -> Decimal:
        return max(Decimal(0), self.required - self.earned)

    @property
    def last_day(self) -> date:
        return self.end - DAY


def ce_cycle(
    *,
    issued_on: date,
    cycle_years: int,
    required: Decimal,
    credits: Iterable[tuple[date, Decimal]],
    on: date,
) -> CECycle:
    """The CE cycle holding ``on`` (cycles run from the issue date) and the credits inside it."""
    start = issued_on
    while add_years(start, cycle_years) <= on:
        start = add_years(start, cycle_years)
    end = add_years(start, cycle_years)
    earned = sum((amount for day, amount in credits if start <= day < end), Decimal(0))
    return CECycle(start=start, end=end, required=required, earned=earned)


def alert_thresholds(days_left: int, thresholds: Sequence[int] = (90, 60, 30)) -> list[int]:
    """Every alert threshold reached ``days_left`` days before expiry, most urgent first.

    0 stands for "expired" (the day after the expiry date).
    """
    reached = [t for t in sorted(thresholds) if days_left <= t]
    if days_left < 0:
        reached.insert(0, 0)
    return reached
