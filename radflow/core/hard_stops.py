"""What blocks an exam from beginning (DESIGN.md hard stops), computed from plain facts.

The intake selector gathers the facts from the database; keeping the rule here lets the property
tests and the HL7/MPPS boundaries share it without a query.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class IntakeFacts:
    identity_confirmed: bool
    required_screening: frozenset[str]
    #: Screening item code → result ("cleared", "flagged", "failed") for the answers given.
    screening_results: dict[str, str] = field(default_factory=dict)
    consent_required: bool = False
    consent_captured: bool = False
    prep_required: bool = False
    prep_ok: bool | None = None
    interpreter_needed: bool = False
    interpreter_logged: bool = False
    auth_required: bool = False
    auth_approved_for_day: bool = False
    #: Who will perform the exam (empty: not known yet) and why they may not, if they may not:
    #: expired or missing credentials, lapsed competencies (radflow.credentials.selectors).
    performer: str = ""
    performer_problems: tuple[str, ...] = ()
    #: Why a probe attached to the exam may not touch this patient (semi-critical probe used
    #: since its last passing high-level disinfection): radflow.infection.selectors.
    probe_problems: tuple[str, ...] = ()
    #: Why the contrast the exam type needs may not be given yet (no recent eGFR, a prior
    #: reaction without premedication): radflow.contrast.selectors.
    contrast_problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stop:
    code: str  # one of radflow.exams.models.HardStop
    detail: str


def hard_stops(facts: IntakeFacts) -> list[Stop]:
    """Every unmet requirement, in the order intake asks them."""
    stops: list[Stop] = []
    if not facts.identity_confirmed:
        stops.append(Stop("identity", "Identity not confirmed with two identifiers."))
    missing = sorted(facts.required_screening - facts.screening_results.keys())
    failed = sorted(
        code for code in facts.required_screening if facts.screening_results.get(code) == "failed"
    )
    problems = []
    if missing:
        problems.append("not answered: " + ", ".join(missing))
    if failed:
        problems.append("failed: " + ", ".join(failed))
    if problems:
        stops.append(Stop("screening", "Screening " + "; ".join(problems) + "."))
    if facts.consent_required and not facts.consent_captured:
        stops.append(Stop("consent", "Consent is required and has not been captured."))
    if facts.prep_required and facts.prep_ok is not True:
        detail = "not verified" if facts.prep_ok is None else "not followed"
        stops.append(Stop("prep", f"Preparation {detail}."))
    if facts.interpreter_needed and not facts.interpreter_logged:
        stops.append(Stop("interpreter", "Interpreter needed; none logged."))
    if facts.auth_required and not facts.auth_approved_for_day:
        stops.append(Stop("authorization", "No approved pre-authorization valid today."))
    if facts.performer_problems:
        who = facts.performer or "The performer"
        stops.append(
            Stop(
                "performer",
                f"{who} may not perform this exam: " + "; ".join(facts.performer_problems) + ".",
            )
        )
    if facts.probe_problems:
        stops.append(
            Stop("probe", "Probe not reprocessed: " + "; ".join(facts.probe_problems) + ".")
        )
    if facts.contrast_problems:
        stops.append(Stop("contrast", "Contrast: " + "; ".join(facts.contrast_problems) + "."))
    return stops
