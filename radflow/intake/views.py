"""The intake page: one screen per exam for the front desk tablet and the sonographer.

The page shows the patient (an audited read), a checklist of every hard stop and one form per
section; each form posts to its own URL, which calls one ``intake.services`` function and either
redirects back (the checklist then shows the new state) or re-renders the page with the errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from radflow.accounts.access import page_requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, access_record
from radflow.contrast.selectors import contrast_applies, exam_screen
from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.core.hard_stops import hard_stops
from radflow.exams.models import Exam, HardStop
from radflow.infection.selectors import exam_has_guarded_probe
from radflow.intake import services
from radflow.intake.forms import (
    ConsentForm,
    IdentityForm,
    InterpreterForm,
    PrepForm,
    ScreeningForm,
)
from radflow.intake.models import ScreeningAnswer
from radflow.intake.selectors import intake_facts
from radflow.patients.languages import language_name
from radflow.patients.selectors import patient_severe_allergies

PERM = services.INTAKE_PERMISSION

#: Screening questions that carry a date and/or a number: (date label, number label).
SCREENING_VALUES: dict[str, tuple[str, str]] = {
    "pregnancy": ("LMP date", ""),
    "egfr": ("eGFR date", "eGFR (mL/min/1.73 m²)"),
    "anticoagulation": ("Last dose", ""),
    "weight": ("", "Weight (kg)"),
    "blood-glucose": ("", "Glucose (mg/dL)"),
    "prior-breast-imaging": ("Date of prior", ""),
}


@dataclass(frozen=True)
class ChecklistRow:
    code: str
    label: str
    ok: bool
    detail: str


@dataclass
class ScreeningRow:
    item: Any
    answer: ScreeningAnswer | None
    form: ScreeningForm


def _exam(pk: Any) -> Exam:
    exam = (
        Exam.objects.select_related(
            "order", "order__patient", "order__exam_type", "order__exam_type__modality", "room"
        )
        .filter(pk=pk)
        .first()
    )
    if exam is None:
        raise Http404("No exam has this id.")
    return exam


def _screening_form(item_code: str, data: Any = None, initial: Any = None) -> ScreeningForm:
    date_label, number_label = SCREENING_VALUES.get(item_code, ("", ""))
    return ScreeningForm(
        data,
        initial={"item_code": item_code, **(initial or {})},
        auto_id=f"id_{item_code}_%s",
        date_label=date_label,
        number_label=number_label,
    )


def _checklist(exam: Exam) -> list[ChecklistRow]:
    """Every hard stop that applies to this exam, met (✓) or not (✗) with the reason."""
    facts = intake_facts(exam, on=timezone.localdate())
    blocking = {stop.code: stop.detail for stop in hard_stops(facts)}
    applies = {
        HardStop.IDENTITY: True,
        HardStop.SCREENING: bool(facts.required_screening),
        HardStop.CONSENT: facts.consent_required,
        HardStop.PREP: facts.prep_required,
        HardStop.INTERPRETER: facts.interpreter_needed,
        HardStop.AUTHORIZATION: facts.auth_required,
        HardStop.CONTRAST: contrast_applies(exam.order.exam_type),
        HardStop.PROBE: exam_has_guarded_probe(exam),
    }
    return [
        ChecklistRow(
            code=code.value,
            label=code.label,
            ok=code.value not in blocking,
            detail=blocking.get(code.value, "Done."),
        )
        for code, applicable in applies.items()
        if applicable
    ]


def _render(
    request: HttpRequest, exam: Exam, bound: dict[str, forms.Form] | None = None, status: int = 200
) -> HttpResponse:
    """The whole page; ``bound`` holds the one posted form that came back with errors."""
    bound = bound or {}
    order = exam.order
    patient, exam_type = order.patient, order.exam_type
    access_record(
        user=request.user,
        patients=[patient],
        action="intake.view",
        source=AccessSource.from_request(request, AccessChannel.WEB),
    )
    answers = {a.item_id: a for a in exam.screening_answers.select_related("by")}
    rows = []
    for item in exam_type.required_screening.all():
        answer = answers.get(item.code)
        form = bound.get(f"screening:{item.code}")
        if not isinstance(form, ScreeningForm):
            initial: dict[str, Any] = {"result": "cleared"}
            if answer is not None:
                initial = {
                    "result": answer.result,
                    "value_date": answer.value_date,
                    "value_number": answer.value_number,
                }
            form = _screening_form(item.code, initial=initial)
        rows.append(ScreeningRow(item=item, answer=answer, form=form))
    identity = getattr(exam, "identity_check", None) if hasattr(exam, "identity_check") else None
    consent = exam.consent if hasattr(exam, "consent") else None
    prep = exam.prep_check if hasattr(exam, "prep_check") else None
    interpreter = exam.interpreter if hasattr(exam, "interpreter") else None
    prep_required = bool(exam_type.prep_instructions.strip())
    checklist = _checklist(exam)
    context = {
        "exam": exam,
        "order": order,
        "patient": patient,
        "exam_type": exam_type,
        "language": language_name(patient.language),
        "flagged_allergies": patient_severe_allergies(patient),
        "contrast_screen": exam_screen(exam, on=timezone.localdate()),
        "open": exam.state in services.INTAKE_STATES,
        "checklist": checklist,
        "all_clear": all(row.ok for row in checklist),
        "identity": identity,
        "identity_form": bound.get("identity") or IdentityForm(),
        "screening_rows": rows,
        "consent": consent,
        "show_consent": exam_type.consent_required or consent is not None,
        "consent_form": bound.get("consent") or ConsentForm(),
        "prep": prep,
        "prep_required": prep_required,
        "prep_form": bound.get("prep") or PrepForm(prep_required=prep_required),
        "interpreter": interpreter,
        "show_interpreter": patient.interpreter_needed or interpreter is not None,
        "interpreter_form": bound.get("interpreter")
        or InterpreterForm(initial={"language": patient.language}),
        "can_begin": exam.state == "arrived" and request.user.has_perm("exams.perform_exam"),
    }
    return render(request, "intake/exam.html", context, status=status)


def _back(exam: Exam, anchor: str) -> HttpResponse:
    return redirect(reverse("intake:exam", kwargs={"pk": exam.pk}) + f"#{anchor}")


def _handle(
    request: HttpRequest,
    exam: Exam,
    key: str,
    form: forms.Form,
    call: Callable[[], str],
    anchor: str,
) -> HttpResponse:
    """Validate the form, run the service; redirect with its message or re-render with errors."""
    if form.is_valid():
        try:
            message = call()
        except ValidationFailed as exc:
            form.add_service_errors(exc)  # type: ignore[attr-defined]
            if exc.message != "Invalid input":
                form.add_error(None, exc.message)
        except Conflict as exc:
            messages.error(request, exc.message)
            return _back(exam, anchor)
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc
        else:
            messages.success(request, message)
            return _back(exam, anchor)
    return _render(request, exam, {key: form}, status=422)


@page_requires(PERM)
def intake_exam(request: HttpRequest, pk: str) -> HttpResponse:
    return _render(request, _exam(pk))


@page_requires(PERM)
def intake_identity(request: HttpRequest, pk: str) -> HttpResponse:
    exam = _exam(pk)
    if request.method != "POST":
        return _back(exam, "identity")
    form = IdentityForm(request.POST)

    def call() -> str:
        services.identity_confirm(exam=exam, by=request.user, **form.cleaned_data)
        return "Identity confirmed with two identifiers."

    return _handle(request, exam, "identity", form, call, "identity")


@page_requires(PERM)
def intake_screening(request: HttpRequest, pk: str) -> HttpResponse:
    exam = _exam(pk)
    if request.method != "POST":
        return _back(exam, "screening")
    code = str(request.POST.get("item_code", ""))
    form = _screening_form(code, data=request.POST)

    def call() -> str:
        data = form.cleaned_data
        saved = services.screening_record(
            exam=exam,
            by=request.user,
            item_code=data["item_code"],
            answer=data["answer"],
            note=data["note"],
            result=data["result"],
            value_date=data["value_date"],
            value_number=data["value_number"],
        )
        name = saved.item.name
        if saved.result != data["result"]:
            problem = services.exam_egfr_problem(
                exam,
                value_number=saved.value_number,
                value_date=saved.value_date,
                today=timezone.localdate(),
            )
            return f"{name} recorded as {saved.get_result_display().lower()}: {problem}."
        return f"{name} recorded: {saved.get_result_display().lower()}."

    return _handle(request, exam, f"screening:{code}", form, call, "screening")


@page_requires(PERM)
def intake_consent(request: HttpRequest, pk: str) -> HttpResponse:
    exam = _exam(pk)
    if request.method != "POST":
        return _back(exam, "consent")
    form = ConsentForm(request.POST)

    def call() -> str:
        consent = services.consent_capture(exam=exam, by=request.user, **form.cleaned_data)
        return f"Consent captured ({consent.get_method_display().lower()})."

    return _handle(request, exam, "consent", form, call, "consent")


@page_requires(PERM)
def intake_prep(request: HttpRequest, pk: str) -> HttpResponse:
    exam = _exam(pk)
    if request.method != "POST":
        return _back(exam, "prep")
    prep_required = bool(exam.order.exam_type.prep_instructions.strip())
    form = PrepForm(request.POST, prep_required=prep_required)

    def call() -> str:
        check = services.prep_verify(exam=exam, by=request.user, **form.service_kwargs())
        if not prep_required:
            return "Safety notes recorded."
        return "Preparation verified." if check.prep_ok else "Recorded: preparation not followed."

    return _handle(request, exam, "prep", form, call, "prep")


@page_requires(PERM)
def intake_interpreter(request: HttpRequest, pk: str) -> HttpResponse:
    exam = _exam(pk)
    if request.method != "POST":
        return _back(exam, "interpreter")
    form = InterpreterForm(request.POST)

    def call() -> str:
        log = services.interpreter_log(exam=exam, by=request.user, **form.cleaned_data)
        return f"Interpreter {log.interpreter_id} logged."

    return _handle(request, exam, "interpreter", form, call, "interpreter")
