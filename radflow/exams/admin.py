"""Reference data of the exam's life, editable by administrators (exams themselves are not
here: they carry PHI and change only through ``exams.services``)."""

from __future__ import annotations

from django.contrib import admin

from radflow.exams.models import ReasonCode


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("kind", "code", "label", "patient_initiated", "active")
    list_filter = ("kind", "active", "patient_initiated")
    search_fields = ("code", "label")
