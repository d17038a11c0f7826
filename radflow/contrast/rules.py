"""Contrast screening on plain values: no Django, no queries.

``selectors`` gathers a patient's eGFR results, prior reactions and the exam's premedication and
asks ``screening_problems``; keeping the rule here lets it be tested without a database and read
by the department in one place:

- eGFR (when the exam type requires it): the patient's latest result must be dated within the
  exam type's window (``egfr_window_days`` before the exam day, not after it) and be at least its
  minimum. No result, an old one or a low one is a problem.
- Prior reaction (when the exam type screens for it): a moderate or severe reaction to the same
  agent class, or a contrast allergy whose class cannot be told from its text, needs a
  premedication protocol recorded for this exam. Mild reactions are shown, not blocking (the
  ACR Manual on Contrast Media leaves premedication after a mild allergic-like reaction to
  local judgement).

Every problem is overridable by a radiologist with a reason (``exams.services``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum


class AgentClass(StrEnum):
    IODINATED = "iodinated"
    GADOLINIUM = "gadolinium"
    ULTRASOUND = "ultrasound"

    @property
    def label(self) -> str:
        return AGENT_CLASS_LABELS[self]


AGENT_CLASS_LABELS: dict[AgentClass, str] = {
    AgentClass.IODINATED: "Iodinated contrast",
    AgentClass.GADOLINIUM: "Gadolinium-based contrast (GBCA)",
    AgentClass.ULTRASOUND: "Ultrasound enhancing agent (microbubbles)",
}


class Grade(StrEnum):
    """ACR Manual on Contrast Media severity; the values match the patients' allergy severity."""

    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


#: Grades that need premedication (or a radiologist's override) before the same class again.
BLOCKING_GRADES = frozenset({Grade.MODERATE, Grade.SEVERE})


@dataclass(frozen=True)
class Requirement:
    """What an exam type asks before its contrast is given (``ContrastRequirement``)."""

    agent_class: AgentClass
    egfr_required: bool
    egfr_window_days: int
    egfr_minimum: Decimal
    reaction_screening: bool


@dataclass(frozen=True)
class Egfr:
    value: Decimal
    measured_on: date


@dataclass(frozen=True)
class PriorReaction:
    #: None: a contrast allergy on the patient's list whose agent class its text does not tell.
    agent_class: AgentClass | None
    grade: Grade
    #: How the screen names it: "severe reaction to Iohexol 350 on 2026-03-01".
    what: str


def latest_egfr(results: Iterable[Egfr], *, today: date) -> Egfr | None:
    """The most recent result dated on or before ``today`` (a future date is a typing error)."""
    dated = [r for r in results if r.measured_on <= today]
    return max(dated, key=lambda r: r.measured_on, default=None)


def egfr_problem(requirement: Requirement, egfr: Egfr | None, *, today: date) -> str:
    """Why the patient's latest eGFR does not clear this exam type ("" when it does)."""
    if not requirement.egfr_required:
        return ""
    window = requirement.egfr_window_days
    if egfr is None:
        return f"no eGFR on file (one from the last {window} days is required)"
    if egfr.measured_on < today - timedelta(days=window):
        return (
            f"the latest eGFR ({egfr.value} on {egfr.measured_on:%Y-%m-%d}) is older than "
            f"{window} days"
        )
    if egfr.value < requirement.egfr_minimum:
        return (
            f"eGFR {egfr.value} on {egfr.measured_on:%Y-%m-%d} is below {requirement.egfr_minimum}"
        )
    return ""


def relevant_reactions(
    requirement: Requirement, reactions: Iterable[PriorReaction]
) -> list[PriorReaction]:
    """Prior reactions that bear on this class: the same class, or a class not known."""
    return [
        r for r in reactions if r.agent_class is None or r.agent_class == requirement.agent_class
    ]


def screening_problems(
    requirement: Requirement,
    *,
    today: date,
    egfr: Egfr | None,
    reactions: Iterable[PriorReaction],
    premedicated: bool,
) -> tuple[str, ...]:
    """Every unmet contrast requirement, each a short phrase for the hard stop's detail."""
    problems: list[str] = []
    renal = egfr_problem(requirement, egfr, today=today)
    if renal:
        problems.append(renal)
    if requirement.reaction_screening and not premedicated:
        blocking = [
            r for r in relevant_reactions(requirement, reactions) if r.grade in BLOCKING_GRADES
        ]
        if blocking:
            named = "; ".join(r.what for r in blocking[:3])
            problems.append(f"prior {named}; no premedication recorded for this exam")
    return tuple(problems)


_CLASS_WORDS: tuple[tuple[AgentClass, re.Pattern[str]], ...] = (
    (
        AgentClass.GADOLINIUM,
        re.compile(
            r"gadolin|gbca|gado[a-z]*|gadavist|dotarem|clariscan|multihance|prohance|eovist|"
            r"primovist|omniscan|magnevist|elucirem|vueway|\bm[r]i? contrast",
        ),
    ),
    (
        AgentClass.ULTRASOUND,
        re.compile(
            r"sulph?ur hexafluoride|microbubble|microsphere|perflutren|lumason|sonovue|definity|"
            r"optison|ultrasound (contrast|enhancing)|\bceus\b|\buea\b",
        ),
    ),
    (
        AgentClass.IODINATED,
        re.compile(
            r"iod|io[hp]ex|iopami|iodix|iover|iopro|iomep|omnipaque|visipaque|isovue|optiray|"
            r"ultravist|\bct contrast|x-?ray contrast|radiocontrast",
        ),
    ),
)


def agent_class_of(text: str) -> AgentClass | None:
    """The agent class a free-text allergy names ("Iodinated contrast media", "Gadavist"),
    or None when the text does not say ("IV contrast", "contrast dye")."""
    folded = text.casefold()
    for agent_class, pattern in _CLASS_WORDS:
        if pattern.search(folded):
            return agent_class
    return None


def rate_per_thousand(reactions: int, doses: int) -> Decimal | None:
    """Reactions per 1,000 doses, to one decimal place (None without doses)."""
    if doses <= 0:
        return None
    return (Decimal(reactions) * 1000 / Decimal(doses)).quantize(Decimal("0.1"))
