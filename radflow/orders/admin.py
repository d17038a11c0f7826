"""SLA clocks and the ICD-10 suggestion list, editable by administrators. Orders carry PHI and
are changed only through the pages and ``orders.services``."""

from __future__ import annotations

from django.contrib import admin

from radflow.orders.models import DiagnosisCode, SlaPolicy


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("priority", "exam_type", "target_minutes", "warning_minutes")
    list_filter = ("priority",)


@admin.register(DiagnosisCode)
class DiagnosisCodeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "description")
    search_fields = ("code", "description")
