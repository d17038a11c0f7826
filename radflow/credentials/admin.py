"""Reference data for administrators; people's credentials are edited on the credential pages."""

from __future__ import annotations

from django.contrib import admin

from radflow.credentials.models import CredentialRequirement, CredentialType


@admin.register(CredentialType)
class CredentialTypeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "name", "issuer", "kind", "ce_credits_required", "ce_cycle_years")
    list_filter = ("issuer", "kind", "active")
    filter_horizontal = ("modalities",)


@admin.register(CredentialRequirement)
class CredentialRequirementAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "label", "modality", "competency")
    filter_horizontal = ("credential_types",)
