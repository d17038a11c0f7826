"""Exam pages: the exam with its timeline, one page per state action, the override report and
the documentation audit.

Each action page is a thin adapter: the permission check of the action's transition, a form, one
call to ``exams.services``, then back to the exam. A refused action re-renders the form with the
service's message (422 bad input, 409 not possible now, 403 not in your role) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from radflow.accounts.access import page_requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource
from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.core.exam_states import (
    BEFORE_ARRIVAL,
    TRANSITIONS,
    ExamAction,
    ExamState,
    IllegalTransition,
    past_tense,
    transition_for,
)
from radflow.exams import selectors
from radflow.exams import services as exam_services
from radflow.exams.export import xlsx_response
from radflow.exams.forms import (
    BeginForm,
    CancelForm,
    CompleteForm,
    ConfirmForm,
    DiscontinueForm,
    DocumentationAuditForm,
    ExamActionForm,
    NoShowForm,
    OverrideFilterForm,
    ReportForm,
    RescheduleForm,
    ScheduleForm,
    TriageForm,
)
from radflow.exams.models import Exam, HardStop
from radflow.intake.selectors import exam_hard_stops
from radflow.patients.selectors import patient_severe_allergies
from radflow.web.pages import paginate


def _web(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.WEB)


def _exam(request: HttpRequest, pk: Any, action: str) -> Exam:
    return selectors.exam_get_audited(
        user=request.user, exam_id=pk, action=action, source=_web(request)
    )


#: Actions done with one button on the exam page (nothing to ask).
ONE_CLICK = frozenset({ExamAction.ARRIVE, ExamAction.COMPLETE, ExamAction.SIGN, ExamAction.BILL})
#: Actions that end the exam early: shown as danger buttons.
ENDING = frozenset({ExamAction.CANCEL, ExamAction.NO_SHOW, ExamAction.DISCONTINUE})

ACTION_LABELS = {
    ExamAction.TRIAGE: "Triage",
    ExamAction.SCHEDULE: "Schedule",
    ExamAction.RESCHEDULE: "Reschedule",
    ExamAction.ARRIVE: "Check in (arrived)",
    ExamAction.NO_SHOW: "Mark no-show",
    ExamAction.BEGIN: "Begin exam",
    ExamAction.COMPLETE: "Complete exam",
    ExamAction.DISCONTINUE: "Discontinue",
    ExamAction.REPORT: "Write report",
    ExamAction.SIGN: "Sign report",
    ExamAction.BILL: "Bill",
    ExamAction.CANCEL: "Cancel exam",
}


def _unmet_stops(exam: Exam) -> list[Any]:
    """The hard stops still open, for an exam not yet begun (afterwards they are history)."""
    state = ExamState(exam.state)
    if state in BEFORE_ARRIVAL or state is ExamState.ARRIVED:
        return exam_hard_stops(exam, on=timezone.localdate())
    return []


@page_requires("exams.view_exam")
def exam_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    exam = _exam(request, pk, "exam.detail")
    patient = exam.order.patient
    actions = [
        {
            "action": action.value,
            "label": ACTION_LABELS[action],
            "url_name": f"exams:{action.value}",
            "one_click": action in ONE_CLICK,
            "danger": action in ENDING,
        }
        for action in selectors.actions_for_user(exam, request.user)
    ]
    stop_labels = dict(HardStop.choices)
    stops = [
        {"code": s.code, "label": stop_labels.get(s.code, s.code), "detail": s.detail}
        for s in _unmet_stops(exam)
    ]
    context = {
        "exam": exam,
        "order": exam.order,
        "patient": patient,
        "flagged_allergies": patient_severe_allergies(patient),
        "state": ExamState(exam.state),
        "timeline": selectors.exam_timeline(exam),
        "overrides": selectors.exam_overrides(exam),
        "charges": selectors.exam_charges(exam),
        "stops": stops,
        "actions": actions,
        # A modality began the exam with stops unmet (DICOM MPPS): shown until a coordinator
        # clears it on the reconciliation page. Read through the reverse relation so the exams
        # app does not import the interfaces app that depends on it.
        "modality_flags": list(
            exam.performed_steps.filter(flagged=True).values("calling_ae", "missing", "created_at")
        ),
    }
    return render(request, "exams/detail.html", context)


# --- the action pages -------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionPage:
    """One state action as a page: its form, how to call the service, what to say after."""

    action: ExamAction
    form: Callable[..., ExamActionForm]
    run: Callable[[HttpRequest, Exam, ExamActionForm], Exam]
    button: str
    intro: str = ""


def _run_triage(request: HttpRequest, exam: Exam, form: ExamActionForm) -> Exam:
    data = form.cleaned_data
    return exam_services.exam_triage(
        exam=exam,
        by=request.user,
        exam_type=data["exam_type"],
        priority=data["priority"],
        protocol=data["protocol"],
        instructions=data["instructions"],
    )


def _run_schedule(request: HttpRequest, exam: Exam, form: ExamActionForm) -> Exam:
    data = form.cleaned_data
    return exam_services.exam_schedule(
        exam=exam,
        by=request.user,
        room=data["room"],
        start=data["start"],
        technologist=data.get("technologist"),
        override_reason=data.get("override_reason", ""),
    )


def _run_reschedule(request: HttpRequest, exam: Exam, form: ExamActionForm) -> Exam:
    data = form.cleaned_data
    return exam_services.exam_reschedule(
        exam=exam,
        by=request.user,
        room=data["room"],
        start=data["start"],
        reason_code=data["reason_code"],
        reason=data["reason"],
        override_reason=data.get("override_reason", ""),
    )


def _run_begin(request: HttpRequest, exam: Exam, form: ExamActionForm) -> Exam:
    if not isinstance(form, BeginForm):  # the begin page always builds one
        raise TypeError("The begin page needs a BeginForm.")
    return exam_services.exam_begin(exam=exam, by=request.user, overrides=form.overrides())


def _reason_runner(
    service: Callable[..., Exam],
) -> Callable[[HttpRequest, Exam, ExamActionForm], Exam]:
    def run(request: HttpRequest, exam: Exam, form: ExamActionForm) -> Exam:
        data = form.cleaned_data
        return service(
            exam=exam, by=request.user, reason_code=data["reason_code"], reason=data["reason"]
        )

    return run


def _simple_runner(
    service: Callable[..., Exam],
) -> Callable[[HttpRequest, Exam, ExamActionForm], Exam]:
    def run(request: HttpRequest, exam: Exam, form: ExamActionForm) -> Exam:
        return service(exam=exam, by=request.user, **form.cleaned_data)

    return run


def _begin_form(data: Any = None, *, exam: Exam, user: Any) -> BeginForm:
    return BeginForm(data, exam=exam, user=user, stops=_unmet_stops(exam))


PAGES: dict[ExamAction, ActionPage] = {
    page.action: page
    for page in (
        ActionPage(
            ExamAction.TRIAGE,
            TriageForm,
            _run_triage,
            "Save triage",
            "Confirm or change the exam type and protocol and set the priority.",
        ),
        ActionPage(ExamAction.SCHEDULE, ScheduleForm, _run_schedule, "Book"),
        ActionPage(
            ExamAction.RESCHEDULE,
            RescheduleForm,
            _run_reschedule,
            "Move the booking",
            "The old room and time stay on the exam's timeline.",
        ),
        ActionPage(
            ExamAction.ARRIVE,
            ConfirmForm,
            _simple_runner(exam_services.exam_arrive),
            "Check the patient in",
        ),
        ActionPage(
            ExamAction.NO_SHOW,
            NoShowForm,
            _reason_runner(exam_services.exam_no_show),
            "Mark no-show",
        ),
        ActionPage(ExamAction.BEGIN, _begin_form, _run_begin, "Begin the exam"),
        ActionPage(
            ExamAction.COMPLETE,
            CompleteForm,
            _simple_runner(exam_services.exam_complete),
            "Complete the exam",
        ),
        ActionPage(
            ExamAction.DISCONTINUE,
            DiscontinueForm,
            _reason_runner(exam_services.exam_discontinue),
            "Discontinue the exam",
        ),
        ActionPage(
            ExamAction.REPORT,
            ReportForm,
            _simple_runner(exam_services.exam_report),
            "Save report",
        ),
        ActionPage(
            ExamAction.SIGN,
            ConfirmForm,
            _simple_runner(exam_services.exam_sign),
            "Sign the report",
        ),
        ActionPage(
            ExamAction.BILL,
            ConfirmForm,
            _simple_runner(exam_services.exam_bill),
            "Post the charges",
            "One technical charge is posted per procedure code of the exam type.",
        ),
        ActionPage(
            ExamAction.CANCEL,
            CancelForm,
            _reason_runner(exam_services.exam_cancel),
            "Cancel the exam",
        ),
    )
}


def _action_page(request: HttpRequest, pk: Any, page: ActionPage) -> HttpResponse:
    exam = _exam(request, pk, f"exam.{page.action.value}")
    data = request.POST if request.method == "POST" else None
    form = page.form(data, exam=exam, user=request.user)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                page.run(request, exam, form)
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except PermissionDenied as exc:
                form.add_error(None, exc.message)
                status = 403
            except Conflict as exc:
                form.add_error(None, exc.message)
                status = 409
            else:
                messages.success(
                    request,
                    f"Exam {exam.accession_number} {past_tense(page.action)}.",
                )
                return redirect("exams:detail", pk=exam.pk)
    try:
        transition_for(exam.state, page.action)
        not_now = ""
    except IllegalTransition as exc:
        not_now = exc.message
    context = {
        "exam": exam,
        "order": exam.order,
        "patient": exam.order.patient,
        "state": ExamState(exam.state),
        "page": page,
        "title": ACTION_LABELS[page.action],
        "form": form,
        "not_now": not_now,
        "action_url": f"exams:{page.action.value}",
    }
    return render(request, "exams/action.html", context, status=status)


def _action_view(action: ExamAction) -> Callable[..., HttpResponse]:
    page = PAGES[action]

    @page_requires(TRANSITIONS[action].permission)
    def view(request: HttpRequest, pk: Any) -> HttpResponse:
        return _action_page(request, pk, page)

    view.__name__ = view.__qualname__ = f"exam_{action.value}"
    view.__doc__ = f"GET shows the {action.value} form; POST takes the action."
    return view


exam_triage = _action_view(ExamAction.TRIAGE)
exam_schedule = _action_view(ExamAction.SCHEDULE)
exam_reschedule = _action_view(ExamAction.RESCHEDULE)
exam_arrive = _action_view(ExamAction.ARRIVE)
exam_no_show = _action_view(ExamAction.NO_SHOW)
exam_begin = _action_view(ExamAction.BEGIN)
exam_complete = _action_view(ExamAction.COMPLETE)
exam_discontinue = _action_view(ExamAction.DISCONTINUE)
exam_report = _action_view(ExamAction.REPORT)
exam_sign = _action_view(ExamAction.SIGN)
exam_bill = _action_view(ExamAction.BILL)
exam_cancel = _action_view(ExamAction.CANCEL)


# --- the override report ----------------------------------------------------------------------

OVERRIDE_HEADERS = (
    "When",
    "Accession",
    "MRN",
    "Patient",
    "Hard stop",
    "Detail",
    "Reason",
    "Overridden by",
    "Roles",
    "Action",
)


def _override_rows(form: OverrideFilterForm) -> Any:
    if not form.is_valid():
        return selectors.override_search().none()
    data = form.cleaned_data
    user = data.get("user")
    return selectors.override_search(
        since=data.get("since"),
        until=data.get("until"),
        stop=data.get("stop") or "",
        user_id=user.pk if user else None,
    )


@page_requires("exams.audit_documentation")
def override_report(request: HttpRequest) -> HttpResponse:
    form = OverrideFilterForm(request.GET)
    rows = _override_rows(form)
    page = paginate(request, rows)
    shown = selectors.overrides_audited(
        user=request.user,
        source=_web(request),
        rows=list(page.object_list),
        action="exam.overrides",
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": shown,
        "counts": selectors.override_counts(rows),
        "query": query.urlencode(),
    }
    return render(request, "exams/overrides.html", context)


@page_requires("exams.audit_documentation")
def override_report_export(request: HttpRequest) -> HttpResponse:
    form = OverrideFilterForm(request.GET)
    shown = selectors.overrides_audited(
        user=request.user,
        source=_web(request),
        rows=list(_override_rows(form)),
        action="exam.overrides_export",
    )
    stop_labels = dict(HardStop.choices)
    rows = [
        (
            o.at,
            o.exam.accession_number,
            o.exam.order.patient.mrn,
            o.exam.order.patient.display_name,
            str(stop_labels.get(o.stop, o.stop)),
            o.detail,
            o.reason,
            o.by.get_username(),
            o.roles,
            o.action,
        )
        for o in shown
    ]
    stamp = timezone.localdate().isoformat()
    return xlsx_response(
        filename=f"override-report-{stamp}.xlsx",
        sheet_title="Overrides",
        headers=OVERRIDE_HEADERS,
        rows=rows,
    )


# --- the documentation audit ------------------------------------------------------------------

AUDIT_HEADERS = (
    "Accession",
    "MRN",
    "Patient",
    "Exam type",
    "Modality",
    "Site",
    "Performed",
    "State",
    "Missing",
    "Owner",
    "Age (days)",
    "Images count",
)


def _audit_queries(form: DocumentationAuditForm) -> tuple[Any, Any]:
    """The performed exams in the filters, and those of them with a gap (``missing`` applied)."""
    if not form.is_valid():
        none = selectors.performed_exams().none()
        return none, none
    data = form.cleaned_data
    performed = selectors.performed_exams(
        since=data.get("since"),
        until=data.get("until"),
        site=data.get("site"),
        modality=data.get("modality"),
    )
    return performed, selectors.documentation_gaps(performed, gap=data.get("missing") or "")


@page_requires("exams.audit_documentation")
def documentation_audit(request: HttpRequest) -> HttpResponse:
    form = DocumentationAuditForm.with_defaults(request.GET)
    performed, gaps = _audit_queries(form)
    now = timezone.now()
    page = paginate(request, gaps)
    shown = selectors.gap_rows_audited(
        user=request.user,
        source=_web(request),
        rows=selectors.gap_rows(page.object_list, now=now),
        action="exam.documentation_audit",
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": shown,
        "counts": selectors.documentation_gap_counts(performed, now=now),
        "query": query.urlencode(),
        "rules": selectors.DEFAULT_RULES,
    }
    return render(request, "exams/documentation_audit.html", context)


def audit_export_rows(rows: list[selectors.GapRow]) -> list[tuple[Any, ...]]:
    """The audit's rows as spreadsheet cells, in ``AUDIT_HEADERS`` order."""
    return [
        (
            row.exam.accession_number,
            row.patient.mrn,
            row.patient.display_name,
            row.exam.order.exam_type.name,
            row.exam.order.exam_type.modality_id,
            row.site,
            row.performed_at,
            ExamState(row.exam.state).label,
            row.missing_text,
            row.owner_text,
            row.age_days,
            row.exam.images_count,
        )
        for row in rows
    ]


@page_requires("exams.audit_documentation")
def documentation_audit_export(request: HttpRequest) -> HttpResponse:
    form = DocumentationAuditForm.with_defaults(request.GET)
    _, gaps = _audit_queries(form)
    rows = selectors.gap_rows_audited(
        user=request.user,
        source=_web(request),
        rows=selectors.gap_rows(gaps),
        action="exam.documentation_audit_export",
    )
    stamp = timezone.localdate().isoformat()
    return xlsx_response(
        filename=f"documentation-audit-{stamp}.xlsx",
        sheet_title="Documentation audit",
        headers=AUDIT_HEADERS,
        rows=audit_export_rows(rows),
    )
