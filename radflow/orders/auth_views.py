"""Pre-authorization pages: the work queue, the authorization record with its contact log and
the payer's decision, the request form, and the payer rules billing keeps.

Views parse, check the role and call one service; the rules (what an approval needs, what an
approval does to the exam) are in ``radflow.orders.services``. Every page that shows a patient's
name writes one access-log call for the patients shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from radflow.accounts.access import page_requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource, access_record
from radflow.core.errors import Conflict, ValidationFailed
from radflow.orders import auth_selectors
from radflow.orders.auth_forms import (
    AuthorizationRequestForm,
    ContactForm,
    DecisionForm,
    PayerFilterForm,
    RuleEditForm,
    RuleForm,
)
from radflow.orders.models import Authorization, AuthStatus, Order, PayerAuthRule
from radflow.orders.selectors import auth_requirement
from radflow.orders.services import (
    authorization_contact_add,
    authorization_decide,
    authorization_request,
    payer_auth_rule_save,
)
from radflow.patients.models import Patient
from radflow.web.pages import paginate

RULE_EDIT_PERMS = ("orders.add_payerauthrule", "orders.change_payerauthrule")


def _audit(request: HttpRequest, patients: Iterable[Patient], action: str) -> None:
    """One access-log call for every patient the response shows."""
    access_record(
        user=request.user,
        patients=patients,
        action=action,
        source=AccessSource.from_request(request, AccessChannel.WEB),
    )


def _status(*forms: Any) -> int:
    return 422 if any(form is not None and form.is_bound and form.errors for form in forms) else 200


# --- the queue ----------------------------------------------------------------------------------


@page_requires("orders.view_authorization")
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    form = PayerFilterForm(request.GET)
    payer_id = form.payer_id()
    page = paginate(request, auth_selectors.awaiting_authorization(payer_id=payer_id))
    awaiting = auth_selectors.queue_rows(list(page.object_list))
    limit = auth_selectors.SECTION_LIMIT
    expiring_all = auth_selectors.expiring_before_booking(payer_id=payer_id)
    expiring = list(expiring_all[:limit])
    denied_all = auth_selectors.denied_open(payer_id=payer_id)
    denied = auth_selectors.queue_rows(list(denied_all[:limit]))
    expiring_count = expiring_all.count() if len(expiring) == limit else len(expiring)
    denied_count = denied_all.count() if len(denied) == limit else len(denied)
    _audit(
        request,
        [row.patient for row in awaiting]
        + [auth.order.patient for auth in expiring]
        + [row.patient for row in denied],
        "authorization.queue",
    )
    context = {
        "form": form,
        "page": page,
        "awaiting": awaiting,
        "expiring": expiring,
        "expiring_count": expiring_count,
        "denied": denied,
        "denied_count": denied_count,
        "limit": limit,
    }
    return render(request, "authorizations/queue.html", context)


# --- request ------------------------------------------------------------------------------------


@page_requires("orders.add_authorization")
def request_page(request: HttpRequest, pk: str) -> HttpResponse:
    order = get_object_or_404(
        Order.objects.select_related("patient", "payer", "exam_type", "exam"), pk=pk
    )
    form = AuthorizationRequestForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            auth = authorization_request(
                order=order, by=request.user, note=form.cleaned_data["note"]
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except Conflict as exc:  # a pending request is already open
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Authorization requested. Log each contact with the payer.")
            return redirect("authorizations:detail", pk=auth.pk)
    _audit(request, [order.patient], "authorization.request")
    context = {
        "form": form,
        "order": order,
        "requirement": auth_requirement(order),
        "authorizations": order.authorizations.order_by("-requested_at"),
        "pending": order.authorizations.filter(status=AuthStatus.PENDING).first(),
    }
    return render(request, "authorizations/request.html", context, status=_status(form))


# --- the record ---------------------------------------------------------------------------------


def _render_detail(
    request: HttpRequest,
    auth: Authorization,
    *,
    decision_form: DecisionForm | None = None,
    contact_form: ContactForm | None = None,
) -> HttpResponse:
    order = auth.order
    exam = order.exam
    booked_on = auth_selectors.booked_day(exam)
    ends_before = bool(booked_on and auth.valid_to and auth.valid_to < booked_on)
    starts_after = bool(booked_on and auth.valid_from and auth.valid_from > booked_on)
    _audit(request, [order.patient], "authorization.detail")
    context = {
        "auth": auth,
        "order": order,
        "exam": exam,
        "requirement": auth_requirement(order),
        "booked_on": booked_on,
        "ends_before_booking": ends_before,
        "starts_after_booking": starts_after,
        "others": auth_selectors.other_authorizations(auth),
        "can_request_again": request.user.has_perm("orders.add_authorization")
        and not order.authorizations.filter(status=AuthStatus.PENDING).exists(),
        "can_change": request.user.has_perm("orders.change_authorization"),
        "decision_form": decision_form or DecisionForm.for_authorization(auth),
        "contact_form": contact_form or ContactForm(prefix="contact"),
    }
    status = _status(decision_form, contact_form)
    return render(request, "authorizations/detail.html", context, status=status)


@page_requires("orders.view_authorization")
@require_GET
def detail(request: HttpRequest, pk: str) -> HttpResponse:
    return _render_detail(request, auth_selectors.authorization_for_page(pk))


@page_requires("orders.change_authorization")
@require_POST
def decide(request: HttpRequest, pk: str) -> HttpResponse:
    auth = auth_selectors.authorization_for_page(pk)
    form = DecisionForm(request.POST, prefix="decide")
    if form.is_valid():
        try:
            decided = authorization_decide(authorization=auth, by=request.user, **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except Conflict as exc:
            form.add_error(None, exc.message)
        else:
            decided.order.exam.refresh_from_db(fields=["state"])
            messages.success(
                request,
                f"Recorded as {decided.get_status_display().lower()}; the exam is "
                f"{decided.order.exam.state_enum.label.lower()}.",
            )
            return redirect("authorizations:detail", pk=auth.pk)
    return _render_detail(request, auth, decision_form=form)


@page_requires("orders.change_authorization")
@require_POST
def contact_add(request: HttpRequest, pk: str) -> HttpResponse:
    auth = auth_selectors.authorization_for_page(pk)
    form = ContactForm(request.POST, prefix="contact")
    if form.is_valid():
        try:
            authorization_contact_add(authorization=auth, by=request.user, **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Contact logged.")
            return redirect(reverse("authorizations:detail", kwargs={"pk": auth.pk}) + "#contacts")
    return _render_detail(request, auth, contact_form=form)


# --- payer rules --------------------------------------------------------------------------------


@page_requires("orders.view_payerauthrule")
def rules(request: HttpRequest) -> HttpResponse:
    filter_form = PayerFilterForm(request.GET)
    payer_id = filter_form.payer_id()
    can_edit = request.user.has_perms(RULE_EDIT_PERMS)
    form = RuleForm(request.POST if request.method == "POST" else None, initial={"payer": payer_id})
    if form.is_bound:
        if not can_edit:
            raise DjangoPermissionDenied("Your role does not allow changing payer rules.")
        if form.is_valid():
            rule = payer_auth_rule_save(by=request.user, **form.cleaned_data)
            messages.success(request, f"Saved the rule for {rule.payer} / {rule.procedure_code}.")
            return redirect(reverse("authorizations:rules") + f"?payer={rule.payer_id}")
    page = paginate(request, auth_selectors.rules_list(payer_id=payer_id))
    context = {"filter_form": filter_form, "form": form, "page": page, "can_edit": can_edit}
    return render(request, "authorizations/rules.html", context, status=_status(form))


@page_requires(*RULE_EDIT_PERMS)
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(PayerAuthRule.objects.select_related("payer", "procedure_code"), pk=pk)
    form = RuleEditForm(
        request.POST if request.method == "POST" else None,
        initial={"auth_required": rule.auth_required, "lead_time_days": rule.lead_time_days},
    )
    if form.is_bound and form.is_valid():
        payer_auth_rule_save(
            by=request.user,
            payer=rule.payer,
            procedure_code=rule.procedure_code,
            **form.cleaned_data,
        )
        messages.success(request, f"Saved the rule for {rule.payer} / {rule.procedure_code}.")
        return redirect(reverse("authorizations:rules") + f"?payer={rule.payer_id}")
    return render(
        request, "authorizations/rule_edit.html", {"form": form, "rule": rule}, status=_status(form)
    )
