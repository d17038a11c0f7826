"""What a roster problem is: days, shift types, people with their rules, requests and cover.

The fields of the Curtois & Qu benchmark (``curtois.py`` reads them) are the base; the department
adds skills (cover per modality and competency), a hard minimum under the preferred cover, fairness
across people, and a previous roster whose changes cost something (re-solving after a sick call).
Days are indexes from 0; day 0 is a Monday, so days 5 and 6 of every week are the weekend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ShiftType:
    id: str
    minutes: int
    #: Shift types that may not be worked the day after this one (night -> day, too little rest).
    forbidden_next: frozenset[str] = frozenset()
    #: Free labels the department uses for fairness and display: "night", "weekend", "on_call".
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Employee:
    id: str
    #: Most times each shift type may be worked in the horizon; a shift type absent here is 0.
    max_shifts: Mapping[str, int]
    max_minutes: int
    min_minutes: int
    max_consecutive: int
    min_consecutive: int
    min_consecutive_off: int
    max_weekends: int
    #: Days the person cannot work at all (leave, the benchmark's DAYS_OFF, a sick call).
    days_off: frozenset[int] = frozenset()
    #: What the person may cover: modality and competency codes, matched by ``Cover.skill``.
    skills: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Request:
    """A wish to work (``on``) or not to work (``off``) a shift on a day; ``weight`` if unmet."""

    employee: str
    day: int
    shift: str
    weight: int


@dataclass(frozen=True)
class Cover:
    """People wanted on a shift on a day: ``requirement`` is preferred, ``minimum`` is hard.

    With ``skill`` set, only people holding that skill count towards this cover; one person may
    count towards several covers of the same shift (a sonographer with vascular competency counts
    for both "US" and "US-VASC").
    """

    day: int
    shift: str
    requirement: int
    under_weight: int
    over_weight: int
    minimum: int = 0
    skill: str | None = None


@dataclass(frozen=True)
class Fairness:
    """Spread of a count among people, ``weight`` per unit of (max - min).

    Counts the days in ``days`` (all days when empty) on which a person works one of ``shifts``,
    over the people in ``employees``; e.g. nights, weekend days, on-call.
    """

    name: str
    shifts: frozenset[str]
    employees: frozenset[str]
    weight: int
    days: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Instance:
    name: str
    horizon: int
    shifts: tuple[ShiftType, ...]
    employees: tuple[Employee, ...]
    shift_on: tuple[Request, ...] = ()
    shift_off: tuple[Request, ...] = ()
    cover: tuple[Cover, ...] = ()
    fairness: tuple[Fairness, ...] = ()
    #: A roster already published: (employee, day) -> shift id, absent for a day off.
    previous: Mapping[tuple[str, int], str] = field(default_factory=dict)
    #: Cost of each (employee, day) whose assignment differs from ``previous``.
    change_weight: int = 0
    #: Days whose assignments must stay as in ``previous`` (the past, days outside a re-solve).
    frozen_days: frozenset[int] = frozenset()

    def shift(self, shift_id: str) -> ShiftType:
        for shift in self.shifts:
            if shift.id == shift_id:
                return shift
        raise KeyError(shift_id)

    @property
    def weekends(self) -> list[tuple[int, int]]:
        """(Saturday, Sunday) day pairs inside the horizon; a trailing lone Saturday counts."""
        return [(day, day + 1) for day in range(5, self.horizon, 7)]


#: One roster: (employee id, day) -> shift id; a missing key is a day off.
Assignment = dict[tuple[str, int], str]


@dataclass(frozen=True)
class Violation:
    """A hard rule broken by a roster; ``rule`` is a stable code, ``detail`` says it for people."""

    rule: str
    detail: str
    employee: str | None = None
    day: int | None = None


@dataclass(frozen=True)
class Evaluation:
    violations: tuple[Violation, ...]
    objective: int
    #: Objective by term: shift_on, shift_off, cover_under, cover_over, fairness, change.
    breakdown: Mapping[str, int]

    @property
    def feasible(self) -> bool:
        return not self.violations


@dataclass(frozen=True)
class Progress:
    """Reported while solving, for the coordinator's progress bar and the benchmark's trace."""

    seconds: float
    objective: int
    best_bound: int


@dataclass(frozen=True)
class SolveResult:
    #: "optimal", "feasible", "infeasible" or "unknown" (no roster found within the time).
    status: str
    objective: int | None
    best_bound: int | None
    seconds: float
    assignment: Assignment
    first_feasible_seconds: float | None = None
    best_seconds: float | None = None
    trace: tuple[Progress, ...] = ()
    #: When infeasible: a small set of rules and covers that cannot hold together, for people.
    conflicts: tuple[str, ...] = ()
