"""Credential pages: the dashboard, a person's record, the coordinator's forms, "My credentials".

Views only parse, check access and call one service; the coordinator edits, director and auditor
read, and every staff member may read their own record.
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from radflow.accounts.access import page_requires
from radflow.core.errors import Conflict, ValidationFailed
from radflow.credentials import selectors, services
from radflow.credentials.forms import (
    CaseForm,
    CECreditForm,
    CredentialForm,
    PlanForm,
    RevalidateForm,
    SignOffForm,
    VerifyForm,
)
from radflow.credentials.models import CompetencySignoff, Credential, CrossTrainingPlan
from radflow.staff.models import StaffMember

VIEW = "credentials.view_credential"


def _own_staff(request: HttpRequest) -> StaffMember | None:
    if not request.user.is_authenticated:
        return None
    return StaffMember.objects.filter(user=request.user).first()


def _may_read(request: HttpRequest, staff_id: UUID) -> bool:
    if request.user.has_perm(VIEW):
        return True
    own = _own_staff(request)
    return own is not None and own.pk == staff_id


def _person_url(staff_id: UUID) -> str:
    return reverse("credentials:person", kwargs={"pk": staff_id})


@page_requires(VIEW)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    on = timezone.localdate()
    board = selectors.dashboard(on=on)
    return render(
        request,
        "credentials/dashboard.html",
        {"board": board, "can_edit": request.user.has_perm("credentials.add_credential")},
    )


def _render_record(request: HttpRequest, staff_id: UUID, *, mine: bool) -> HttpResponse:
    record = selectors.person_record(staff_id=staff_id, on=timezone.localdate())
    user = request.user
    return render(
        request,
        "credentials/person.html",
        {
            "record": record,
            "mine": mine,
            "can_add": user.has_perm("credentials.add_credential"),
            "can_verify": user.has_perm("credentials.change_credential"),
            "can_log_ce": user.has_perm("credentials.add_cecredit"),
            "can_sign_off": user.has_perm("credentials.add_competencysignoff"),
            "can_revalidate": user.has_perm("credentials.change_competencysignoff"),
            "can_plan": user.has_perm("credentials.add_crosstrainingplan"),
            "can_log_case": user.has_perm("credentials.add_supervisedcase"),
        },
    )


@page_requires()
@require_GET
def person(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Readers see anyone; a staff member sees their own record here too."""
    if not _may_read(request, pk):
        raise DjangoPermissionDenied("Your role does not allow this page.")
    return _render_record(request, pk, mine=False)


@page_requires()
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    own = _own_staff(request)
    if own is None:
        return render(request, "credentials/not_linked.html")
    return _render_record(request, own.pk, mine=True)


@page_requires()
@require_GET
def credential_evidence(request: HttpRequest, pk: UUID) -> HttpResponse:
    credential = get_object_or_404(Credential, pk=pk)
    if not _may_read(request, credential.staff_id):
        raise DjangoPermissionDenied("Your role does not allow this page.")
    if not credential.evidence:
        raise Http404("No evidence file was uploaded for this credential.")
    try:
        handle = credential.evidence.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The evidence file is missing.") from exc
    response = FileResponse(
        handle, as_attachment=True, filename=credential.evidence_name or "evidence"
    )
    return cast(HttpResponse, response)


def _form_page(
    request: HttpRequest,
    *,
    title: str,
    form: Any,
    staff: StaffMember,
    submit: str,
    multipart: bool = False,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    return render(
        request,
        "credentials/form.html",
        {
            "title": title,
            "form": form,
            "staff": staff,
            "submit": submit,
            "multipart": multipart,
            **(extra or {}),
        },
        status=422 if form.is_bound and form.errors else 200,
    )


@page_requires("credentials.add_credential")
@require_http_methods(["GET", "POST"])
def add_credential(request: HttpRequest, pk: UUID) -> HttpResponse:
    staff = get_object_or_404(StaffMember, pk=pk)
    form = CredentialForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            credential = services.credential_add(
                by=request.user,  # type: ignore[arg-type]
                staff=staff,
                credential_type=data["credential_type"],
                number=data["number"],
                issued_on=data["issued_on"],
                expires_on=data["expires_on"],
                evidence=data["evidence"],
                verified=data["verified"],
                verification_note=data["verification_note"],
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Added {credential.credential_type.name}.")
            return redirect(_person_url(staff.pk) + "#credentials")
    return _form_page(
        request,
        title=f"Add a credential · {staff}",
        form=form,
        staff=staff,
        submit="Add credential",
        multipart=True,
    )


@page_requires("credentials.change_credential")
@require_http_methods(["GET", "POST"])
def credential_verify(request: HttpRequest, pk: UUID) -> HttpResponse:
    credential = selectors.credential_get(credential_id=pk)
    form = VerifyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.credential_verify(
                by=request.user,  # type: ignore[arg-type]
                credential=credential,
                note=form.cleaned_data["note"],
                evidence=form.cleaned_data["evidence"],
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Verified {credential.credential_type.name}.")
            return redirect(_person_url(credential.staff_id) + "#credentials")
    return _form_page(
        request,
        title=f"Verify {credential.credential_type.name} · {credential.staff}",
        form=form,
        staff=credential.staff,
        submit="Record verification",
        multipart=True,
        extra={"credential": credential},
    )


@page_requires("credentials.add_cecredit")
@require_http_methods(["GET", "POST"])
def log_ce(request: HttpRequest, pk: UUID) -> HttpResponse:
    staff = get_object_or_404(StaffMember, pk=pk)
    form = CECreditForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            credit = services.ce_credit_log(
                by=request.user,  # type: ignore[arg-type]
                staff=staff,
                **form.cleaned_data,
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Logged {credit.credits} CE credits.")
            return redirect(_person_url(staff.pk) + "#ce")
    return _form_page(
        request, title=f"Log CE credits · {staff}", form=form, staff=staff, submit="Log credits"
    )


@page_requires("credentials.add_competencysignoff")
@require_http_methods(["GET", "POST"])
def sign_off(request: HttpRequest, pk: UUID) -> HttpResponse:
    staff = get_object_or_404(StaffMember, pk=pk)
    form = SignOffForm(request.POST or None, initial={"competency": request.GET.get("competency")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            signoff = services.competency_sign_off(
                by=request.user,  # type: ignore[arg-type]
                staff=staff,
                competency=data["competency"],
                signed_off_on=data["signed_off_on"],
                observed_cases=data["observed_cases"],
                assessor=data["assessor"],
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request, f"Signed off {signoff.competency.name} until {signoff.valid_until}."
            )
            return redirect(_person_url(staff.pk) + "#competencies")
    return _form_page(
        request,
        title=f"Sign off a competency · {staff}",
        form=form,
        staff=staff,
        submit="Sign off",
    )


@page_requires("credentials.change_competencysignoff")
@require_http_methods(["GET", "POST"])
def signoff_revalidate(request: HttpRequest, pk: UUID) -> HttpResponse:
    signoff = get_object_or_404(
        CompetencySignoff.objects.select_related("staff", "competency"), pk=pk
    )
    form = RevalidateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            signoff = services.competency_revalidate(
                by=request.user,  # type: ignore[arg-type]
                signoff=signoff,
                revalidated_on=form.cleaned_data["revalidated_on"],
                assessor=form.cleaned_data["assessor"],
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request, f"Re-validated {signoff.competency.name} until {signoff.valid_until}."
            )
            return redirect(_person_url(signoff.staff_id) + "#competencies")
    return _form_page(
        request,
        title=f"Re-validate {signoff.competency.name} · {signoff.staff}",
        form=form,
        staff=signoff.staff,
        submit="Re-validate",
    )


@page_requires("credentials.add_crosstrainingplan")
@require_http_methods(["GET", "POST"])
def add_plan(request: HttpRequest, pk: UUID) -> HttpResponse:
    staff = get_object_or_404(StaffMember, pk=pk)
    form = PlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_save(
                by=request.user,  # type: ignore[arg-type]
                staff=staff,
                **form.cleaned_data,
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Cross-training plan saved.")
            return redirect(_person_url(staff.pk) + "#plans")
    return _form_page(
        request,
        title=f"New cross-training plan · {staff}",
        form=form,
        staff=staff,
        submit="Create plan",
    )


@page_requires("credentials.change_crosstrainingplan")
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    plan = get_object_or_404(CrossTrainingPlan.objects.select_related("staff"), pk=pk)
    initial = {
        "target": plan.target_id,
        "required_cases": plan.required_cases,
        "mentor": plan.mentor_id,
        "started_on": plan.started_on,
        "due_on": plan.due_on,
        "status": plan.status,
        "note": plan.note,
    }
    form = PlanForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_save(
                by=request.user,  # type: ignore[arg-type]
                staff=plan.staff,
                plan=plan,
                **form.cleaned_data,
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Cross-training plan updated.")
            return redirect(_person_url(plan.staff_id) + "#plans")
    return _form_page(
        request,
        title=f"Cross-training plan · {plan.staff}",
        form=form,
        staff=plan.staff,
        submit="Save plan",
    )


@page_requires("credentials.add_supervisedcase")
@require_http_methods(["GET", "POST"])
def plan_case(request: HttpRequest, pk: UUID) -> HttpResponse:
    plan = selectors.plan_get(plan_id=pk)
    form = CaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.supervised_case_log(
                by=request.user,  # type: ignore[arg-type]
                plan=plan,
                **form.cleaned_data,
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except Conflict as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Supervised case logged.")
            return redirect(_person_url(plan.staff_id) + "#plans")
    return _form_page(
        request,
        title=f"Log a supervised case · {plan.staff} → {plan.target.name}",
        form=form,
        staff=plan.staff,
        submit="Log case",
        extra={"plan": plan},
    )
