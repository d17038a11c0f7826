"""Admin pages for the roster's set-up rows (the coordinator's pages are the main way in)."""

from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from radflow.rostering.models import (
    CoverageRequirement,
    LeaveRequest,
    PublicHoliday,
    Roster,
    RosterSettings,
    ShiftType,
    StaffRosterRules,
)


@admin.register(ShiftType)
class ShiftTypeAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("code", "name", "site", "kind", "modality", "start", "end", "active")
    list_filter = ("site", "kind", "active")


@admin.register(CoverageRequirement)
class CoverageRequirementAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("shift_type", "weekday", "on_date", "competency", "minimum", "preferred")
    list_filter = ("shift_type__site",)


@admin.register(StaffRosterRules)
class StaffRosterRulesAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("staff", "rostered", "contracted_minutes_per_week", "max_consecutive_days")


@admin.register(RosterSettings)
class RosterSettingsAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    pass


@admin.register(PublicHoliday)
class PublicHolidayAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("on_date", "name")


@admin.register(LeaveRequest)
class LeaveRequestAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("staff", "kind", "start", "end", "status")
    list_filter = ("status", "kind")


@admin.register(Roster)
class RosterAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ("start", "weeks", "status", "published_at")
    list_filter = ("status",)
