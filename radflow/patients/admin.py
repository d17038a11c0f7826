"""Patients in the admin, for administrators fixing data; pages and services are the normal path.

Opening a patient's change form here is a read like any other and is logged
(``patient.admin``); edits are recorded by django-simple-history.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

from radflow.audit.models import AccessChannel
from radflow.audit.services import AccessSource
from radflow.core.errors import NotFound
from radflow.patients.models import Allergy, Patient, PatientContact, PatientIdentifier
from radflow.patients.selectors import patient_get_audited


class AllergyInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Allergy
    extra = 0


class IdentifierInline(admin.TabularInline):  # type: ignore[type-arg]
    model = PatientIdentifier
    extra = 0


class ContactInline(admin.TabularInline):  # type: ignore[type-arg]
    model = PatientContact
    extra = 0


@admin.register(Patient)
class PatientAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    # The list shows no demographics (a list of names would be an unlogged read); open a row.
    list_display = ("mrn", "mrn_authority", "active")
    search_fields = ("=mrn",)
    list_filter = ("active", "mrn_authority")
    readonly_fields = ("merged_into", "active")
    inlines = (AllergyInline, IdentifierInline, ContactInline)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        with suppress(NotFound):  # the admin answers its own "does not exist"
            patient_get_audited(
                user=request.user,
                patient_id=object_id,
                action="patient.admin",
                source=AccessSource.from_request(request, AccessChannel.WEB),
            )
        response: HttpResponse = super().change_view(request, object_id, form_url, extra_context)
        return response
