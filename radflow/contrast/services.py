"""Contrast writes: agents, exam-type settings, eGFR results, premedication, doses, reactions.

Each public function is one transaction and checks its permission first; anything refused raises
a ``RadflowError`` before a row is written. Rules kept here, listed so the department can read
them:

- A dose is recorded for an exam that has arrived, is in progress or has just completed (late
  charting), with an agent of the class the exam type takes. It is refused while the contrast
  screen is unmet (``rules.screening_problems``) unless a radiologist overrode the contrast hard
  stop when the exam began.
- A stocked agent's dose is issued from stock through ``supplies.services.stock_issue`` in the
  same transaction: from the lot given (or the first-expiring usable lot), at the exam room's
  shelf (or the site's store). Recalled or expired lots and short stock are refused by supplies.
  When the item is counted in the dose unit (mL) the dose is issued; otherwise one container
  (vial, syringe) unless ``containers`` says how many.
- An allergic-like reaction adds the agent to the patient's allergies (category contrast,
  severity = the grade) or raises the severity of the entry already there; physiologic reactions
  and extravasation are recorded but are not allergies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.contrast import selectors
from radflow.contrast.models import (
    SYMPTOMS,
    AdverseEvent,
    ContrastAdministration,
    ContrastAgent,
    ContrastRequirement,
    EgfrResult,
    EgfrSource,
    GbcaGroup,
    Premedication,
    PremedicationDose,
    PremedRoute,
    ReactionKind,
    ReactionOutcome,
    Route,
)
from radflow.contrast.rules import AgentClass, Grade
from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.patients.models import Allergy, AllergyCategory, Patient

#: How far ahead of this server's clock a given time may be (a tablet's clock).
FUTURE_SKEW = timedelta(minutes=5)
#: Exam states in which a dose may be recorded.
DOSE_STATES = (ExamState.ARRIVED, ExamState.IN_PROGRESS, ExamState.COMPLETED)
#: Exam states in which premedication may be recorded (it is given before the exam).
PREMED_STATES = (ExamState.SCHEDULED, ExamState.ARRIVED, ExamState.IN_PROGRESS)
#: Plausibility limits that catch a slipped decimal point, not clinical limits.
MAX_DOSE = Decimal(500)
MAX_FLOW_RATE = Decimal(10)
MAX_EGFR = Decimal(200)
GRADE_RANK = {Grade.MILD: 0, Grade.MODERATE: 1, Grade.SEVERE: 2}
AGENT_CLASSES = frozenset(c.value for c in AgentClass)
GRADES = frozenset(g.value for g in Grade)
CLASS_WORDS = {
    AgentClass.IODINATED: "iodinated contrast",
    AgentClass.GADOLINIUM: "gadolinium contrast",
    AgentClass.ULTRASOUND: "ultrasound contrast",
}


def _require(by: Any, perm: str, what: str) -> None:
    if by is None or not by.is_authenticated or not by.has_perm(perm):
        raise PermissionDenied(f"Your role does not allow {what}.")


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(errors)


def _check_time(
    value: datetime | None, field: str, errors: dict[str, list[str]], *, now: datetime
) -> datetime:
    when = value or now
    if timezone.is_naive(when):
        errors[field] = ["The time must carry a time zone."]
    elif when > now + FUTURE_SKEW:
        errors[field] = ["The time is in the future."]
    return when


def _decimal(value: Any, field: str, errors: dict[str, list[str]]) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors[field] = ["Enter a number."]
        return None
    if not number.is_finite():
        errors[field] = ["Enter a number."]
        return None
    return number


# --- agents and exam-type settings ---------------------------------------------------------------


AGENT_FIELDS = (
    "name",
    "brand",
    "manufacturer",
    "agent_class",
    "gbca_group",
    "concentration",
    "concentration_unit",
    "routes",
    "dose_unit",
    "supply_item",
    "safety_programme",
    "active",
)


@transaction.atomic
def agent_save(
    *, by: Any, values: Mapping[str, Any], agent: ContrastAgent | None = None
) -> ContrastAgent:
    """Create an agent, or change ``agent``; ``values`` holds ``AGENT_FIELDS`` (missing ones keep
    their value)."""
    from radflow.supplies.models import ItemCategory

    _require(
        by,
        "contrast.change_contrastagent" if agent else "contrast.add_contrastagent",
        "keeping the contrast agents",
    )
    target = agent or ContrastAgent()
    unknown = set(values) - set(AGENT_FIELDS)
    if unknown:
        raise ValidationFailed({name: ["Not a field of a contrast agent."] for name in unknown})
    for name, value in values.items():
        setattr(target, name, value.strip() if isinstance(value, str) else value)
    errors: dict[str, list[str]] = {}
    if target.agent_class not in AGENT_CLASSES:
        errors["agent_class"] = ["Choose iodinated, gadolinium or ultrasound enhancing agent."]
    routes = list(target.routes or [])
    if not routes:
        errors["routes"] = ["Choose at least one route the agent is given by."]
    elif any(code not in Route.values for code in routes):
        errors["routes"] = ["Choose routes from the list."]
    target.routes = routes
    if target.agent_class == AgentClass.GADOLINIUM and not target.gbca_group:
        errors["gbca_group"] = ["A gadolinium agent needs its ACR group (I, II or III)."]
    if target.agent_class != AgentClass.GADOLINIUM and target.gbca_group:
        errors["gbca_group"] = ["Only gadolinium agents have an ACR group."]
    if target.gbca_group and target.gbca_group not in GbcaGroup.values:
        errors["gbca_group"] = ["Choose group I, II or III."]
    item = target.supply_item
    if item is not None:
        if item.category != ItemCategory.CONTRAST:
            errors["supply_item"] = [f"{item.name} is not a contrast item in supplies."]
        elif not item.lot_tracked:
            errors["supply_item"] = [f"{item.name} is not lot-tracked; every dose names a lot."]
        elif ContrastAgent.objects.filter(supply_item=item).exclude(pk=target.pk).exists():
            errors["supply_item"] = [f"{item.name} already belongs to another agent."]
    if (
        target.name
        and ContrastAgent.objects.filter(name__iexact=target.name).exclude(pk=target.pk).exists()
    ):
        errors["name"] = [f"An agent named {target.name} already exists."]
    _raise(errors)
    try:
        target.full_clean(exclude=["supply_item", "routes"], validate_unique=False)
    except DjangoValidationError as exc:
        raise ValidationFailed(exc.message_dict) from exc
    target._history_user = by  # type: ignore[attr-defined]
    target.save()
    return target


@transaction.atomic
def requirement_save(
    *,
    by: Any,
    exam_type: ExamType,
    gives_contrast: bool,
    agent_class: str,
    egfr_required: bool,
    egfr_window_days: int,
    egfr_minimum: Decimal,
    reaction_screening: bool,
) -> ContrastRequirement:
    """Save what ``exam_type`` asks before contrast (replacing the modality default)."""
    _require(by, "contrast.change_contrastrequirement", "changing contrast settings")
    errors: dict[str, list[str]] = {}
    if agent_class not in AGENT_CLASSES:
        errors["agent_class"] = ["Choose the agent class the exam type takes."]
    if not 1 <= egfr_window_days <= 365:
        errors["egfr_window_days"] = ["Enter a window between 1 and 365 days."]
    if egfr_minimum is None or not Decimal(0) <= egfr_minimum <= Decimal(120):
        errors["egfr_minimum"] = ["Enter a minimum between 0 and 120 mL/min/1.73 m²."]
    _raise(errors)
    requirement = ContrastRequirement.objects.select_for_update().filter(
        exam_type=exam_type
    ).first() or ContrastRequirement(exam_type=exam_type)
    requirement.gives_contrast = gives_contrast
    requirement.agent_class = agent_class
    requirement.egfr_required = egfr_required
    requirement.egfr_window_days = egfr_window_days
    requirement.egfr_minimum = egfr_minimum
    requirement.reaction_screening = reaction_screening
    requirement.updated_by = by
    requirement._history_user = by  # type: ignore[attr-defined]
    requirement.save()
    return requirement


# --- eGFR ---------------------------------------------------------------------------------------


def _check_egfr(
    value: Any, measured_on: date | None, errors: dict[str, list[str]]
) -> Decimal | None:
    number = _decimal(value, "value", errors)
    if number is None and "value" not in errors:
        errors["value"] = ["Enter the eGFR (mL/min/1.73 m²)."]
    elif number is not None and not Decimal(0) <= number <= MAX_EGFR:
        errors["value"] = [f"An eGFR is between 0 and {MAX_EGFR}; check the value."]
    if measured_on is None:
        errors["measured_on"] = ["Enter the date of the result."]
    elif measured_on > timezone.localdate():
        errors["measured_on"] = ["The result date is in the future."]
    return number


@transaction.atomic
def egfr_record(
    *,
    by: Any,
    patient: Patient,
    value: Any,
    measured_on: date | None,
    source: str = EgfrSource.LAB,
    reference: str = "",
) -> EgfrResult:
    """Record a lab (or point-of-care) eGFR for the patient; renal screening reads the latest."""
    _require(by, "contrast.add_egfrresult", "recording eGFR results")
    errors: dict[str, list[str]] = {}
    number = _check_egfr(value, measured_on, errors)
    if source not in EgfrSource.values or source == EgfrSource.INTAKE:
        errors["source"] = ["Choose laboratory, point-of-care or interface."]
    reference = reference.strip()
    if len(reference) > 60:
        errors["reference"] = ["Keep the reference under 60 characters."]
    if not patient.active:
        errors["patient"] = ["A merged or inactive patient cannot be changed."]
    _raise(errors)
    assert number is not None and measured_on is not None  # noqa: S101 (checked above)
    return EgfrResult.objects.create(
        patient=patient,
        value=number,
        measured_on=measured_on,
        source=source,
        reference=reference,
        recorded_at=timezone.now(),
        recorded_by=by,
    )


def egfr_from_intake(*, exam: Exam, by: Any, value: Decimal, measured_on: date) -> EgfrResult:
    """The eGFR intake screening recorded for ``exam``, kept for the patient as well.

    Called by ``intake.services.screening_record`` inside its transaction, after its own
    permission and value checks; a new answer for the same exam replaces the earlier one.
    """
    result, _ = EgfrResult.objects.update_or_create(
        exam=exam,
        source=EgfrSource.INTAKE,
        defaults={
            "patient": exam.order.patient,
            "value": value,
            "measured_on": measured_on,
            "recorded_at": timezone.now(),
            "recorded_by": by if by is not None and by.is_authenticated else None,
        },
    )
    return result


# --- the exam -----------------------------------------------------------------------------------


def _lock_exam(exam: Exam) -> Exam:
    return (
        Exam.objects.select_for_update(of=("self",))
        .select_related("order", "order__patient", "order__exam_type", "room")
        .get(pk=exam.pk)
    )


@dataclass(frozen=True)
class DoseInput:
    """One premedication dose: prednisone 50 mg orally at 22:00, by the patient at home."""

    drug: str
    dose: str
    route: str
    given_at: datetime | None
    given_by: str


@transaction.atomic
def premedication_record(
    *,
    exam: Exam,
    by: Any,
    protocol: str,
    doses: Sequence[DoseInput],
    ordered_by: str = "",
    note: str = "",
) -> Premedication:
    """Record the premedication protocol given before ``exam`` with each dose and its time."""
    _require(by, "contrast.add_premedication", "recording premedication")
    exam = _lock_exam(exam)
    if exam.state not in PREMED_STATES:
        raise Conflict(
            "Premedication is recorded before or during the exam; this exam is "
            f"{exam.get_state_display().lower()}.",
            field="exam",
            code="premedication_closed",
        )
    errors: dict[str, list[str]] = {}
    protocol, ordered_by, note = protocol.strip(), ordered_by.strip(), note.strip()
    if not protocol:
        errors["protocol"] = ["Name the premedication protocol."]
    elif len(protocol) > 120:
        errors["protocol"] = ["Keep the protocol name under 120 characters."]
    if len(ordered_by) > 120:
        errors["ordered_by"] = ["Keep this under 120 characters."]
    if len(note) > 200:
        errors["note"] = ["Keep the note under 200 characters."]
    now = timezone.now()
    given = [d for d in doses if d.drug.strip() or d.dose.strip()]
    if not given:
        errors["doses"] = ["Record at least one dose: the drug, dose, route and time given."]
    checked: list[tuple[DoseInput, datetime]] = []
    for index, dose in enumerate(given, start=1):
        problems = []
        if not dose.drug.strip() or not dose.dose.strip():
            problems.append("the drug and the dose")
        if dose.route not in PremedRoute.values:
            problems.append("the route")
        if not dose.given_by.strip():
            problems.append("who gave it")
        time_errors: dict[str, list[str]] = {}
        if dose.given_at is None:
            problems.append("the time given")
            when = now
        else:
            when = _check_time(dose.given_at, "given_at", time_errors, now=now)
        if time_errors:
            problems.append("a time that is not in the future")
        if problems:
            errors.setdefault("doses", []).append(f"Dose {index}: enter " + ", ".join(problems))
        checked.append((dose, when))
    _raise(errors)
    premedication = Premedication.objects.create(
        exam=exam,
        protocol=protocol,
        ordered_by=ordered_by,
        note=note,
        recorded_at=now,
        recorded_by=by,
    )
    PremedicationDose.objects.bulk_create(
        PremedicationDose(
            premedication=premedication,
            drug=dose.drug.strip()[:80],
            dose=dose.dose.strip()[:40],
            route=dose.route,
            given_at=when,
            given_by=dose.given_by.strip()[:120],
        )
        for dose, when in checked
    )
    return premedication


@transaction.atomic
def administration_record(
    *,
    exam: Exam,
    by: Any,
    agent: ContrastAgent,
    dose: Any,
    route: str,
    lot: Any = None,
    location: Any = None,
    dose_unit: str = "",
    injection_site: str = "",
    flow_rate: Any = None,
    given_at: datetime | None = None,
    containers: int | None = None,
    note: str = "",
) -> ContrastAdministration:
    """Record a dose given in ``exam`` and issue it from stock; rules in the module docstring."""
    from radflow.supplies.selectors import exam_stock_location
    from radflow.supplies.services import stock_issue

    _require(by, "contrast.add_contrastadministration", "recording contrast doses")
    exam = _lock_exam(exam)
    if exam.state not in DOSE_STATES:
        raise Conflict(
            "Contrast is recorded for an exam that has arrived, is in progress or has just "
            f"completed; this exam is {exam.get_state_display().lower()}.",
            field="exam",
            code="contrast_closed",
        )
    errors: dict[str, list[str]] = {}
    now = timezone.now()
    when = _check_time(given_at, "given_at", errors, now=now)
    amount = _decimal(dose, "dose", errors)
    if amount is None and "dose" not in errors:
        errors["dose"] = ["Enter the dose given."]
    elif amount is not None and not Decimal(0) < amount <= MAX_DOSE:
        errors["dose"] = [f"Enter a dose above 0 and at most {MAX_DOSE}."]
    rate = _decimal(flow_rate, "flow_rate", errors)
    if rate is not None and not Decimal(0) < rate <= MAX_FLOW_RATE:
        errors["flow_rate"] = [f"Enter a flow rate above 0 and at most {MAX_FLOW_RATE} mL/s."]
    unit = (dose_unit or agent.dose_unit).strip()
    if not unit or len(unit) > 8:
        errors["dose_unit"] = ["Enter the dose unit (mL)."]
    if not agent.active:
        errors["agent"] = [f"{agent.name} is no longer in use."]
    if route not in agent.routes:
        allowed = ", ".join(agent.route_labels()) or "none"
        errors["route"] = [f"{agent.name} is given by: {allowed}."]
    injection_site, note = injection_site.strip(), note.strip()
    if len(injection_site) > 80:
        errors["injection_site"] = ["Keep the site under 80 characters."]
    if route in (Route.INTRAVENOUS, Route.INTRA_ARTERIAL) and not injection_site:
        errors["injection_site"] = ["Enter the injection site (and cannula)."]
    if len(note) > 200:
        errors["note"] = ["Keep the note under 200 characters."]
    if containers is not None and containers < 1:
        errors["containers"] = ["Issue at least one container."]
    requirement = selectors.requirement_for(exam.order.exam_type)
    if requirement is None:
        raise Conflict(
            f"{exam.order.exam_type.name} is not set up to take contrast; a radiologist sets it "
            "on the contrast settings page.",
            field="exam",
            code="contrast_not_configured",
        )
    if agent.agent_class != requirement.agent_class:
        errors["agent"] = [
            f"{exam.order.exam_type.name} takes {requirement.agent_class.label.lower()}; "
            f"{agent.name} is {AgentClass(agent.agent_class).label.lower()}."
        ]
    item = agent.supply_item
    if item is None and lot is not None:
        errors["lot"] = [f"{agent.name} is not linked to a supply item; it has no lots."]
    if item is not None and lot is not None and lot.item_id != item.pk:
        errors["lot"] = [f"Lot {lot.lot_number} is not a lot of {item.name}."]
    _raise(errors)
    assert amount is not None  # noqa: S101 (checked above)
    screen = selectors.exam_screen(exam, on=timezone.localdate(when))
    if not screen.cleared:
        raise Conflict(
            "Contrast may not be given: " + "; ".join(screen.problems) + ". Record what is "
            "missing, or a radiologist overrides the contrast hard stop when the exam begins.",
            field="hard_stops",
            code="contrast_stop",
        )
    movement = None
    if item is not None:
        where = location or exam_stock_location(exam)
        if where is None:
            raise ValidationFailed(
                {"location": ["The exam's room has no stock location; choose where it came from."]}
            )
        same_unit = item.unit.strip().casefold() == unit.casefold()
        movement = stock_issue(
            item=item,
            location=where,
            quantity=amount if same_unit else (containers or 1),
            by=by,
            exam=exam,
            lot=lot,
            reason=f"Contrast: {agent.name} {amount.normalize():f} {unit}",
            at=when,
        )
    egfr = screen.egfr
    return ContrastAdministration.objects.create(
        exam=exam,
        agent=agent,
        lot=movement.lot if movement is not None else None,
        stock_movement=movement,
        dose=amount,
        dose_unit=unit,
        route=route,
        injection_site=injection_site,
        flow_rate=rate,
        given_at=when,
        given_by=by,
        egfr_value=egfr.value if egfr is not None else None,
        egfr_date=egfr.measured_on if egfr is not None else None,
        note=note,
    )


# --- reactions ----------------------------------------------------------------------------------


def _allergy_substance(agent: ContrastAgent) -> str:
    return f"{agent.name} ({CLASS_WORDS[AgentClass(agent.agent_class)]})"


def _flag_allergy(
    *, patient: Patient, agent: ContrastAgent, grade: Grade, reaction: str, by: Any
) -> Allergy:
    """Add the agent to the patient's allergies, or raise the entry already there."""
    from radflow.patients.services import allergy_add

    substance = _allergy_substance(agent)
    existing = (
        Allergy.objects.select_for_update()
        .filter(patient=patient, category=AllergyCategory.CONTRAST, substance__iexact=substance)
        .first()
    )
    if existing is None:
        return allergy_add(
            patient=patient,
            by=by,
            substance=substance,
            category=AllergyCategory.CONTRAST,
            severity=grade.value,
            reaction=reaction[:200],
        )
    changed = []
    if GRADE_RANK[grade] > GRADE_RANK.get(Grade(existing.severity), 0):
        existing.severity = grade.value
        changed.append("severity")
    if reaction and reaction not in existing.reaction:
        existing.reaction = "; ".join(filter(None, [existing.reaction, reaction]))[:200]
        changed.append("reaction")
    if changed:
        existing._history_user = by  # type: ignore[attr-defined]
        existing.save(update_fields=changed)
    return existing


def _check_report(
    reported: bool,
    reported_on: date | None,
    reference: str,
    onset_day: date | None,
    errors: dict[str, list[str]],
) -> None:
    if not reported:
        if reported_on is not None or reference:
            errors["reported_to_programme"] = [
                "Tick “reported” to record the report date and reference."
            ]
        return
    if reported_on is None:
        errors["reported_on"] = ["Enter the date it was reported."]
    elif reported_on > timezone.localdate():
        errors["reported_on"] = ["The report date is in the future."]
    elif onset_day is not None and reported_on < onset_day:
        errors["reported_on"] = ["The report date is before the reaction."]
    if len(reference) > 60:
        errors["report_reference"] = ["Keep the reference under 60 characters."]


@transaction.atomic
def adverse_event_record(
    *,
    administration: ContrastAdministration,
    by: Any,
    grade: str,
    symptoms: Sequence[str],
    treatment: str,
    outcome: str,
    onset_at: datetime | None = None,
    kind: str = ReactionKind.ALLERGIC_LIKE,
    description: str = "",
    reported_to_programme: bool = False,
    reported_on: date | None = None,
    report_reference: str = "",
) -> AdverseEvent:
    """Record a reaction to a dose; an allergic-like one flags the patient's allergy list."""
    _require(by, "contrast.add_adverseevent", "recording contrast reactions")
    administration = (
        ContrastAdministration.objects.select_for_update()
        .select_related("agent", "exam__order__patient")
        .get(pk=administration.pk)
    )
    errors: dict[str, list[str]] = {}
    now = timezone.now()
    when = _check_time(onset_at, "onset_at", errors, now=now)
    if "onset_at" not in errors and when < administration.given_at - FUTURE_SKEW:
        errors["onset_at"] = ["The reaction cannot start before the dose was given."]
    if grade not in GRADES:
        errors["grade"] = ["Choose mild, moderate or severe."]
    if kind not in ReactionKind.values:
        errors["kind"] = ["Choose allergic-like, physiologic or extravasation."]
    codes = list(dict.fromkeys(symptoms))
    if not codes:
        errors["symptoms"] = ["Tick at least one symptom."]
    elif any(code not in SYMPTOMS for code in codes):
        errors["symptoms"] = ["Choose symptoms from the list."]
    treatment, description = treatment.strip(), description.strip()
    if not treatment:
        errors["treatment"] = ["Say what was done (“observation only” is an answer)."]
    if outcome not in ReactionOutcome.values:
        errors["outcome"] = ["Choose the outcome."]
    report_reference = report_reference.strip()
    onset_day = timezone.localdate(when) if "onset_at" not in errors else None
    _check_report(reported_to_programme, reported_on, report_reference, onset_day, errors)
    _raise(errors)
    agent = administration.agent
    allergy = None
    if kind == ReactionKind.ALLERGIC_LIKE:
        words = ", ".join(SYMPTOMS[code].lower() for code in codes)
        allergy = _flag_allergy(
            patient=administration.exam.order.patient,
            agent=agent,
            grade=Grade(grade),
            reaction=f"{grade.capitalize()} reaction {timezone.localdate(when):%Y-%m-%d}: {words}",
            by=by,
        )
    event = AdverseEvent(
        administration=administration,
        onset_at=when,
        grade=grade,
        kind=kind,
        symptoms=codes,
        description=description,
        treatment=treatment,
        outcome=outcome,
        reported_to_programme=reported_to_programme,
        reported_on=reported_on if reported_to_programme else None,
        report_reference=report_reference if reported_to_programme else "",
        allergy=allergy,
        recorded_at=now,
        recorded_by=by,
    )
    event._history_user = by  # type: ignore[attr-defined]
    event.save()
    return event


@transaction.atomic
def adverse_event_report(
    *, event: AdverseEvent, by: Any, reported_on: date | None, reference: str
) -> AdverseEvent:
    """Mark a reaction as reported to the agent's safety programme (date and reference)."""
    _require(by, "contrast.change_adverseevent", "reporting contrast reactions")
    event = AdverseEvent.objects.select_for_update().get(pk=event.pk)
    if event.reported_to_programme:
        raise Conflict(
            f"This reaction was already reported on {event.reported_on:%Y-%m-%d}.",
            field="reported_on",
            code="already_reported",
        )
    errors: dict[str, list[str]] = {}
    reference = reference.strip()
    _check_report(True, reported_on, reference, timezone.localdate(event.onset_at), errors)
    _raise(errors)
    event.reported_to_programme = True
    event.reported_on = reported_on
    event.report_reference = reference
    event._history_user = by  # type: ignore[attr-defined]
    event.save(update_fields=["reported_to_programme", "reported_on", "report_reference"])
    return event
