from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from radflow.catalog.models import Competency, ExamType, ProcedureCode, ScreeningItem


@admin.register(ProcedureCode)
class ProcedureCodeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "system", "description"]
    list_filter = ["system"]
    search_fields = ["code", "description"]


@admin.register(Competency)
class CompetencyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "modality"]
    list_filter = ["modality"]
    search_fields = ["code", "name"]


@admin.register(ScreeningItem)
class ScreeningItemAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "question"]
    search_fields = ["code", "name", "question"]


@admin.register(ExamType)
class ExamTypeAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = [
        "name",
        "code",
        "modality",
        "default_duration_min",
        "contrast",
        "consent_required",
        "active",
    ]
    list_filter = ["modality", "active", "contrast", "consent_required"]
    search_fields = ["name", "code", "body_part", "procedure_codes__code"]
    list_select_related = ["modality"]
    filter_horizontal = [
        "procedure_codes",
        "required_screening",
        "required_capabilities",
        "required_competencies",
    ]
    fieldsets = [
        (None, {"fields": ["code", "name", "modality", "body_part", "procedure_codes", "active"]}),
        (
            "Durations (minutes)",
            {
                "fields": [
                    "default_duration_min",
                    "duration_inpatient_min",
                    "duration_portable_min",
                    "duration_bariatric_min",
                ]
            },
        ),
        (
            "Requirements",
            {
                "fields": [
                    "prep_instructions",
                    "required_screening",
                    "consent_required",
                    "contrast",
                    "required_capabilities",
                    "required_competencies",
                ]
            },
        ),
    ]
