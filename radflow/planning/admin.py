from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from radflow.planning.models import DayPlanRun, DepartmentSchedulingSettings


@admin.register(DepartmentSchedulingSettings)
class DepartmentSchedulingSettingsAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("__str__", "stat_lateness_weight", "change_weight", "replan_seconds")


@admin.register(DayPlanRun)
class DayPlanRunAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("site", "date", "kind", "status", "trigger", "created_at", "decided_at")
    list_filter = ("status", "kind", "site")
    readonly_fields = ("result", "trace", "error")
