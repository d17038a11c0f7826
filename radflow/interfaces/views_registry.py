"""The DICOM AE registry pages: the modalities RadFlow's DICOM server knows, and its policy.

Biomed and the admin register, change and deactivate modalities and set what happens to a
caller that is not registered; the director and the coordinator read the page. Views parse,
authorise, call one service and render; a refused form comes back with the service's message on
its field and status 422, and nothing is saved.
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from radflow.accounts.access import page_requires
from radflow.core.errors import Conflict, ValidationFailed
from radflow.interfaces import services
from radflow.interfaces.dicom_policy import policy_get, registry_rows
from radflow.interfaces.forms_registry import ApplicationEntityForm, DicomPolicyForm
from radflow.interfaces.models import ApplicationEntity

VIEW = ("interfaces.view_applicationentity", "interfaces.view_dicompolicy")
ADD = "interfaces.add_applicationentity"
CHANGE = "interfaces.change_applicationentity"
CHANGE_POLICY = "interfaces.change_dicompolicy"


def _registry_page(
    request: HttpRequest, policy_form: DicomPolicyForm | None = None, status: int = 200
) -> HttpResponse:
    policy = policy_get()
    if policy_form is None and request.user.has_perm(CHANGE_POLICY):
        policy_form = DicomPolicyForm(initial={"unknown_caller": policy.unknown_caller})
    context = {
        "rows": registry_rows(),
        "policy": policy,
        "policy_form": policy_form,
        "server_ae_title": settings.DICOM_AE_TITLE,
        "server_port": settings.DICOM_PORT,
    }
    return render(request, "interfaces/dicom.html", context, status=status)


def _form_page(
    request: HttpRequest, form: ApplicationEntityForm, ae: ApplicationEntity | None
) -> HttpResponse:
    status = 422 if form.is_bound and form.errors else 200
    context = {"form": form, "ae": ae, "server_ae_title": settings.DICOM_AE_TITLE}
    return render(request, "interfaces/ae_form.html", context, status=status)


@page_requires(*VIEW)
@require_GET
def registry(request: HttpRequest) -> HttpResponse:
    return _registry_page(request)


@page_requires(*VIEW, CHANGE_POLICY)
@require_POST
def policy(request: HttpRequest) -> HttpResponse:
    form = DicomPolicyForm(request.POST)
    if form.is_valid():
        try:
            saved = services.policy_set(
                unknown_caller=form.cleaned_data["unknown_caller"], by=request.user
            )
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(
                request, f"Unknown callers: {saved.get_unknown_caller_display().lower()}."
            )
            return redirect("interfaces:dicom")
    return _registry_page(request, form, 422)


@page_requires(*VIEW, ADD)
@require_http_methods(["GET", "POST"])
def ae_add(request: HttpRequest) -> HttpResponse:
    form = ApplicationEntityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ae = services.ae_create(by=request.user, **form.service_arguments())
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"{ae.ae_title} registered.")
            return redirect("interfaces:dicom")
    return _form_page(request, form, None)


@page_requires(*VIEW, CHANGE)
@require_http_methods(["GET", "POST"])
def ae_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    ae = get_object_or_404(ApplicationEntity, pk=pk)
    form = ApplicationEntityForm(
        request.POST if request.method == "POST" else None,
        initial=ApplicationEntityForm.initial_for(ae),
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.ae_update(ae=ae, by=request.user, **form.service_arguments())
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"{saved.ae_title} saved.")
            return redirect("interfaces:dicom")
    return _form_page(request, form, ae)


@page_requires(*VIEW, CHANGE)
@require_POST
def ae_deactivate(request: HttpRequest, pk: UUID) -> HttpResponse:
    ae = get_object_or_404(ApplicationEntity, pk=pk)
    try:
        services.ae_deactivate(ae=ae, by=request.user)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"{ae.ae_title} deactivated: its associations are rejected from now on."
        )
    return redirect("interfaces:dicom")
