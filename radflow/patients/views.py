"""Patient pages: search, record, create, edit. Every page that shows a record is audited."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from radflow.accounts.access import page_requires
from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource
from radflow.core.errors import Conflict, ValidationFailed
from radflow.orders.selectors import patient_orders
from radflow.patients.forms import AllergyForm, PatientForm, SearchForm
from radflow.patients.languages import language_name
from radflow.patients.models import Patient
from radflow.patients.selectors import (
    patient_get_audited,
    patient_history,
    patient_search_page,
    patient_severe_allergies,
)
from radflow.patients.services import PATIENT_FIELDS, allergy_add, patient_create, patient_update


def _web(request: HttpRequest) -> AccessSource:
    return AccessSource.from_request(request, AccessChannel.WEB)


def _get(request: HttpRequest, pk: str, action: str) -> Patient:
    return patient_get_audited(
        user=request.user, patient_id=pk, action=action, source=_web(request)
    )


@page_requires("patients.view_patient")
def patient_list(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.GET)
    q = form.data.get("q", "").strip()
    page = patient_search_page(
        user=request.user, source=_web(request), q=q, page=request.GET.get("page", 1)
    )
    context = {"form": form, "q": q, "page": page}
    live = bool(getattr(request, "htmx", False))  # set by django-htmx's middleware
    template = "patients/_results.html" if live else "patients/list.html"
    return render(request, template, context)


@page_requires("patients.view_patient")
def patient_detail(request: HttpRequest, pk: str) -> HttpResponse:
    patient = _get(request, pk, "patient.detail")
    context = {
        "patient": patient,
        "language": language_name(patient.language),
        "flagged_allergies": patient_severe_allergies(patient),
        "history": patient_history(patient=patient),
        "allergy_form": AllergyForm(),
        "can_edit": request.user.has_perm("patients.change_patient") and patient.active,
        "orders": patient_orders(patient.pk)
        if request.user.has_perm("orders.view_order")
        else None,
        "can_order": request.user.has_perm("orders.add_order") and patient.active,
    }
    return render(request, "patients/detail.html", context)


@page_requires("patients.add_patient")
def patient_create_page(request: HttpRequest) -> HttpResponse:
    form = PatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            patient = patient_create(by=request.user, **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        else:
            return redirect("patients:detail", pk=patient.pk)
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "patients/form.html", {"form": form, "patient": None}, status=status)


@page_requires("patients.change_patient")
def patient_edit_page(request: HttpRequest, pk: str) -> HttpResponse:
    # The form shows the whole record, so opening it is an audited read.
    patient = _get(request, pk, "patient.edit")
    if not patient.active:
        messages.error(request, "A merged or inactive patient cannot be edited.")
        return redirect("patients:detail", pk=patient.pk)
    form = PatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in PATIENT_FIELDS}
        try:
            patient_update(patient=patient, by=request.user, changes=changes)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except Conflict as exc:  # merged by someone else while the form was open
            form.add_error(None, exc.message)
        else:
            return redirect("patients:detail", pk=patient.pk)
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "patients/form.html", {"form": form, "patient": patient}, status=status)


@page_requires("patients.change_patient")
def allergy_add_page(request: HttpRequest, pk: str) -> HttpResponse:
    patient = _get(request, pk, "patient.allergy_add")
    if not patient.active:
        messages.error(request, "A merged or inactive patient cannot be changed.")
        return redirect("patients:detail", pk=patient.pk)
    form = AllergyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            allergy_add(patient=patient, by=request.user, **form.cleaned_data)
        except ValidationFailed as exc:
            form.add_service_errors(exc)
        except Conflict as exc:
            form.add_error(None, exc.message)
        else:
            return redirect(reverse("patients:detail", kwargs={"pk": patient.pk}) + "#allergies")
    status = 422 if form.is_bound and form.errors else 200
    return render(
        request, "patients/allergy_form.html", {"form": form, "patient": patient}, status=status
    )
