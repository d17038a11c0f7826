"""Referral pages: the order list, entry and edit forms, the record, attachments, the outreach
log, the incomplete-referrals queue and the completeness rules.

Views parse, authorise, call one service and render. Every page that shows a patient's name
writes access rows for the patients shown (like the patient search).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from radflow.accounts.access import page_requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, access_record
from radflow.core.errors import Conflict, ValidationFailed
from radflow.core.exam_states import BEFORE_ARRIVAL, STARTED, ExamState
from radflow.core.sla import ClockState, format_remaining
from radflow.localtime import local_midnight
from radflow.orders.forms import (
    AttachmentForm,
    CompletenessRuleForm,
    OrderFilterForm,
    OrderForm,
    OutreachForm,
)
from radflow.orders.models import (
    CompletenessRule,
    DiagnosisCode,
    Order,
    OrderAttachment,
    OutreachAction,
    OutreachEntry,
)
from radflow.orders.selectors import order_clock, requirement_labels, urgency_rank
from radflow.orders.services import (
    attachment_add,
    completeness_rule_delete,
    completeness_rule_save,
    order_create,
    order_update,
    outreach_log,
)
from radflow.patients.models import Patient
from radflow.web.pages import paginate

# --- presentation helpers ----------------------------------------------------------------------


def _web(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.WEB)


def _audit(request: HttpRequest, orders: list[Order], action: str) -> None:
    access_record(
        user=request.user, patients=[o.patient for o in orders], action=action, source=_web(request)
    )


CLOCK_BADGES = {
    ClockState.ON_TRACK: ("badge-ok", "On track"),
    ClockState.WARNING: ("badge-warn", "Near breach"),
    ClockState.BREACHED: ("badge-bad", "Breached"),
    ClockState.STOPPED: ("", "Clock stopped"),
}


@dataclass(frozen=True)
class ClockView:
    state: str
    label: str
    badge: str
    due_at: datetime | None
    remaining: str


def clock_view(order: Order, now: datetime) -> ClockView | None:
    """The SLA clock as a page shows it: state badge, due time and time left (or overdue)."""
    clock = order_clock(order)
    if clock is None:
        return None
    state_value = getattr(getattr(order, "exam", None), "state", ExamState.REQUESTED)
    stopped = ExamState(state_value) in STARTED or state_value in (
        ExamState.CANCELLED,
        ExamState.NO_SHOW,
    )
    state = clock.state(now, stopped=stopped)
    badge, label = CLOCK_BADGES[state]
    remaining = "" if stopped else format_remaining(clock.remaining(now))
    return ClockView(state.value, label, badge, clock.due_at, remaining)


def order_rows(filters: dict[str, Any]) -> QuerySet[Order]:
    """Orders matching the list filters, most urgent first (priority, then SLA due, then age)."""
    rows = Order.objects.select_related("patient", "exam_type", "exam", "exam_type__modality")
    q = str(filters.get("q", "")).strip()
    if q:
        rows = rows.filter(
            Q(exam__accession_number=q)
            | Q(patient__mrn=q)
            | Q(placer_order_number=q)
            | Q(patient__family_name__istartswith=q)
        )
    if "priority" in filters:
        rows = rows.filter(priority=filters["priority"])
    if "state" in filters:
        rows = rows.filter(exam__state=filters["state"])
    if "modality" in filters:
        rows = rows.filter(exam_type__modality=filters["modality"])
    if filters.get("complete") in ("yes", "no"):
        rows = rows.filter(is_complete=filters["complete"] == "yes")
    if "received_from" in filters:
        rows = rows.filter(received_at__gte=local_midnight(filters["received_from"]))
    if "received_to" in filters:
        end = local_midnight(filters["received_to"] + timedelta(days=1))
        rows = rows.filter(received_at__lt=end)
    return rows.annotate(urgency=urgency_rank()).order_by("urgency", "sla_due_at", "received_at")


def _get_order(pk: UUID) -> Order:
    queryset = Order.objects.select_related(
        "patient", "exam_type", "exam_type__modality", "exam", "payer", "owner", "triaged_by"
    )
    return get_object_or_404(queryset, pk=pk)


def _reverse_or_none(name: str, pk: Any) -> str | None:
    """A link to a page another part of RadFlow provides, or None while it does not exist."""
    from django.urls import NoReverseMatch

    try:
        return reverse(name, kwargs={"pk": pk})
    except NoReverseMatch:
        return None


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# --- the order list ----------------------------------------------------------------------------


@page_requires("orders.view_order")
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    form = OrderFilterForm(request.GET)
    with transaction.atomic():
        page = paginate(request, order_rows(form.filters()))
        orders = list(page.object_list)
        _audit(request, orders, "order.list")
    now = timezone.now()
    rows = [(order, clock_view(order, now)) for order in orders]
    return render(request, "orders/list.html", {"form": form, "page": page, "rows": rows})


# --- entry and edit ----------------------------------------------------------------------------


def _patient_from(request: HttpRequest, form: OrderForm | None = None) -> Patient | None:
    """The patient chosen by id (from ?patient= or the hidden field) or by MRN on the form."""
    raw = request.POST.get("patient") or request.GET.get("patient") or ""
    if raw:
        try:
            return Patient.objects.filter(pk=UUID(str(raw))).first()
        except ValueError:
            return None
    if form is not None and form.is_bound and form.is_valid():
        mrn = form.cleaned_data.get("mrn", "").strip()
        if mrn:
            return Patient.objects.filter(mrn=mrn, active=True).first()
    return None


def _diagnosis_datalist() -> list[DiagnosisCode]:
    return list(DiagnosisCode.objects.all())


@page_requires("orders.add_order")
def order_create_page(request: HttpRequest) -> HttpResponse:
    form = OrderForm(request.POST or None)
    patient = _patient_from(request, form)
    if request.method == "POST" and form.is_valid():
        if patient is None:
            mrn = form.cleaned_data.get("mrn", "").strip()
            message = f"No active patient has MRN “{mrn}”." if mrn else "Choose the patient (MRN)."
            form.add_error("mrn", message)
        else:
            try:
                with transaction.atomic():
                    order = order_create(
                        by=request.user,
                        patient=patient,
                        diagnosis_codes=form.cleaned_data["diagnosis_codes"],
                        **form.service_values(),
                    )
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            except Conflict as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Referral {order.exam.accession_number} entered.")
                return redirect("orders:detail", pk=order.pk)
    elif request.method == "GET" and patient is not None:
        form.fields["patient"].initial = patient.pk
    if patient is not None:
        # The form names the patient, so showing it is a read of the record.
        access_record(
            user=request.user, patients=[patient], action="order.create", source=_web(request)
        )
    status = 422 if form.is_bound and form.errors else 200
    context = {"form": form, "patient": patient, "order": None, "codes": _diagnosis_datalist()}
    return render(request, "orders/form.html", context, status=status)


@page_requires("orders.change_order")
def order_edit_page(request: HttpRequest, pk: UUID) -> HttpResponse:
    order = _get_order(pk)
    _audit(request, [order], "order.edit")
    if ExamState(order.exam.state) not in BEFORE_ARRIVAL:
        messages.error(
            request,
            f"The referral cannot be changed once the exam is "
            f"{order.exam.get_state_display().lower()}.",
        )
        return redirect("orders:detail", pk=order.pk)
    form = OrderForm(request.POST or None, order=order)
    status = 200
    if request.method == "POST" and form.is_valid():
        changes = form.service_values()
        if changes["exam_type"] == order.exam_type.code:
            del changes["exam_type"]  # unchanged: a retired type stays on its old orders
        try:
            with transaction.atomic():
                order_update(
                    order=order,
                    by=request.user,
                    changes=changes,
                    diagnosis_codes=form.cleaned_data["diagnosis_codes"],
                )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except Conflict as exc:  # the patient arrived while the form was open
            form.add_error(None, exc.message)
            status = 409
        else:
            messages.success(request, "Referral updated.")
            return redirect("orders:detail", pk=order.pk)
    if form.is_bound and form.errors and status == 200:
        status = 422
    context = {
        "form": form,
        "patient": order.patient,
        "order": order,
        "codes": _diagnosis_datalist(),
    }
    return render(request, "orders/form.html", context, status=status)


# --- the record --------------------------------------------------------------------------------


@page_requires("orders.view_order")
@require_GET
def order_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    order = _get_order(pk)
    _audit(request, [order], "order.detail")
    codes = [d.code for d in order.diagnoses.all()]
    known = dict(DiagnosisCode.objects.filter(code__in=codes).values_list("code", "description"))
    can_change = request.user.has_perm("orders.change_order")
    editable = ExamState(order.exam.state) in BEFORE_ARRIVAL
    authorizations = [
        (auth, _reverse_or_none("authorizations:detail", auth.pk))
        for auth in order.authorizations.all()
    ]
    context = {
        "order": order,
        "exam": order.exam,
        "exam_url": _reverse_or_none("exams:detail", order.exam.pk),
        "diagnoses": [(code, known.get(code, "")) for code in codes],
        "missing": requirement_labels(list(order.missing)),
        "clock": clock_view(order, timezone.now()),
        "attachments": order.attachments.select_related("uploaded_by"),
        "outreach": order.outreach.select_related("by"),
        "authorizations": authorizations,
        "can_edit": can_change and editable,
        "can_change": can_change,
        "attachment_form": AttachmentForm(),
        "outreach_form": OutreachForm(),
    }
    return render(request, "orders/detail.html", context)


# --- attachments -------------------------------------------------------------------------------


@page_requires("orders.change_order")
@require_POST
def attachment_add_page(request: HttpRequest, pk: UUID) -> HttpResponse:
    order = get_object_or_404(Order, pk=pk)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            attachment = attachment_add(
                order=order,
                by=request.user,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Attached {attachment.original_name}.")
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, f"Attachment not added: {error}")
    return redirect(reverse("orders:detail", kwargs={"pk": order.pk}) + "#attachments")


@page_requires("orders.view_order")
@require_GET
def attachment_download(request: HttpRequest, pk: UUID) -> HttpResponse:
    attachment = get_object_or_404(
        OrderAttachment.objects.select_related("order", "order__patient"), pk=pk
    )
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The attachment's file is missing.") from exc
    _audit(request, [attachment.order], "order.attachment")
    response = FileResponse(handle, as_attachment=True, filename=attachment.original_name)
    # A streaming response; page_requires is typed for HttpResponse, which it merely passes on.
    return cast(HttpResponse, response)


# --- outreach ----------------------------------------------------------------------------------


@page_requires("orders.change_order")
@require_POST
def outreach_add_page(request: HttpRequest, pk: UUID) -> HttpResponse:
    order = get_object_or_404(Order, pk=pk)
    form = OutreachForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            outreach_log(order=order, by=request.user, **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
    if form.errors:
        error = "; ".join(str(e) for errors in form.errors.values() for e in errors)
    if getattr(request, "htmx", False):
        row = incomplete_rows(Order.objects.filter(pk=order.pk))[0]
        _audit(request, [row.order], "order.incomplete")
        context = {
            "row": row,
            "now": timezone.now(),
            "error": error,
            "can_change": True,
            "actions": OutreachAction.choices,
        }
        status = 422 if error else 200
        return render(request, "orders/_incomplete_row.html", context, status=status)
    if error:
        messages.error(request, f"Outreach not logged: {error}")
    else:
        messages.success(request, "Outreach logged.")
    fallback = reverse("orders:detail", kwargs={"pk": order.pk}) + "#outreach"
    return redirect(_safe_next(request, fallback))


# --- the incomplete-referrals queue ------------------------------------------------------------


@dataclass(frozen=True)
class IncompleteRow:
    order: Order
    missing: list[str]
    attempts: int
    last: OutreachEntry | None


def incomplete_queryset() -> QuerySet[Order]:
    """Orders missing documentation that still wait for triage, oldest first."""
    return Order.objects.filter(is_complete=False, exam__state=ExamState.REQUESTED).order_by(
        "received_at"
    )


def incomplete_rows(orders: QuerySet[Order] | list[Order]) -> list[IncompleteRow]:
    if isinstance(orders, QuerySet):
        orders = list(
            orders.select_related("patient", "exam_type", "exam").prefetch_related(
                Prefetch("outreach", queryset=OutreachEntry.objects.select_related("by"))
            )
        )
    rows = []
    for order in orders:
        entries = list(order.outreach.all())
        rows.append(
            IncompleteRow(
                order=order,
                missing=requirement_labels(list(order.missing)),
                attempts=len(entries),
                last=entries[0] if entries else None,
            )
        )
    return rows


@page_requires("orders.view_order")
@require_GET
def incomplete_queue(request: HttpRequest) -> HttpResponse:
    queryset = incomplete_queryset()
    with transaction.atomic():
        page = paginate(request, queryset)
        rows = incomplete_rows(queryset.filter(pk__in=[o.pk for o in page.object_list]))
        _audit(request, [row.order for row in rows], "order.incomplete")
    context = {
        "page": page,
        "rows": rows,
        "count": page.paginator.count,
        "now": timezone.now(),
        "can_change": request.user.has_perm("orders.change_order"),
        "actions": OutreachAction.choices,
    }
    return render(request, "orders/incomplete.html", context)


# --- completeness rules ------------------------------------------------------------------------


def _rule_values(form: CompletenessRuleForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "requirement": data["requirement"],
        "exam_type": data["exam_type"],
        "payer": data["payer"],
        "active": data["active"],
        "note": data["note"].strip(),
    }


@page_requires("orders.view_completenessrule")
def rule_list(request: HttpRequest) -> HttpResponse:
    can_add = request.user.has_perm("orders.add_completenessrule")
    form = CompletenessRuleForm(request.POST or None, initial={"active": True})
    if request.method == "POST":
        if not can_add:
            raise DjangoPermissionDenied("Your role does not allow adding rules.")
        if form.is_valid():
            try:
                rule = completeness_rule_save(by=request.user, **_rule_values(form))
            except ValidationFailed as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, f"Rule added: {rule}.")
                return redirect("orders:rules")
    rules = CompletenessRule.objects.select_related("exam_type", "payer").order_by(
        "requirement", "exam_type__name", "payer__name"
    )
    status = 422 if form.is_bound and form.errors else 200
    context = {
        "rules": rules,
        "form": form,
        "can_add": can_add,
        "can_change": request.user.has_perm("orders.change_completenessrule"),
        "can_delete": request.user.has_perm("orders.delete_completenessrule"),
        "incomplete_count": incomplete_queryset().count(),
    }
    return render(request, "orders/rules.html", context, status=status)


@page_requires("orders.change_completenessrule")
def rule_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    rule = get_object_or_404(CompletenessRule.objects.select_related("exam_type", "payer"), pk=pk)
    form = CompletenessRuleForm.for_rule(rule, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            completeness_rule_save(by=request.user, rule=rule, **_rule_values(form))
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Rule saved; open referrals were re-checked.")
            return redirect("orders:rules")
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "orders/rule_form.html", {"form": form, "rule": rule}, status=status)


@page_requires("orders.delete_completenessrule")
@require_POST
def rule_delete(request: HttpRequest, pk: UUID) -> HttpResponse:
    rule = get_object_or_404(CompletenessRule, pk=pk)
    label = str(rule)
    completeness_rule_delete(by=request.user, rule=rule)
    messages.success(request, f"Rule deleted: {label}; open referrals were re-checked.")
    return redirect("orders:rules")
