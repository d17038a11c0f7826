from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from radflow.scheduling.models import (
    BookingTemplate,
    Department,
    Device,
    DeviceDowntime,
    Hold,
    Interpreter,
    InterpreterHours,
    Modality,
    Probe,
    Reservation,
    Room,
    RoomCapability,
    RoomClosure,
    RoomOpeningHours,
    Site,
    SiteClosure,
    StaffWorkingHours,
)


class DepartmentInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Department
    extra = 0
    fields = ["name", "cost_centre"]


@admin.register(Site)
class SiteAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ["name", "code", "time_zone", "phone"]
    search_fields = ["name", "code", "address"]
    inlines = [DepartmentInline]


@admin.register(Department)
class DepartmentAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ["name", "site", "cost_centre"]
    list_filter = ["site"]
    search_fields = ["name", "cost_centre", "site__name"]
    list_select_related = ["site"]


@admin.register(Modality)
class ModalityAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "ionizing"]
    list_filter = ["ionizing"]
    search_fields = ["code", "name"]


@admin.register(RoomCapability)
class RoomCapabilityAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class RoomOpeningHoursInline(admin.TabularInline):  # type: ignore[type-arg]
    model = RoomOpeningHours
    extra = 0
    fields = ["weekday", "opens", "closes"]


class DeviceInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Device
    extra = 0
    fields = ["kind", "modality", "manufacturer", "model_name", "serial_number", "ae_title"]
    show_change_link = True


@admin.register(Room)
class RoomAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ["code", "name", "site", "modality", "status", "status_note"]
    list_filter = ["site", "modality", "status", "capabilities"]
    search_fields = ["code", "name", "site__name"]
    filter_horizontal = ["capabilities"]
    list_select_related = ["site", "modality"]
    inlines = [RoomOpeningHoursInline, DeviceInline]
    history_list_display = ["status", "status_note"]


@admin.register(RoomOpeningHours)
class RoomOpeningHoursAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["room", "weekday", "opens", "closes"]
    list_filter = ["weekday", "room__site"]
    search_fields = ["room__code", "room__name"]
    list_select_related = ["room"]


class ProbeInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Probe
    extra = 0
    fields = ["serial_number", "model_name", "probe_type", "spaulding_class", "status"]
    show_change_link = True


@admin.register(Device)
class DeviceAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = [
        "manufacturer",
        "model_name",
        "serial_number",
        "modality",
        "ae_title",
        "room",
        "status",
    ]
    list_filter = ["modality", "kind", "status", "room__site"]
    search_fields = ["serial_number", "ae_title", "station_name", "manufacturer", "model_name"]
    list_select_related = ["modality", "room"]
    inlines = [ProbeInline]


@admin.register(Probe)
class ProbeAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = [
        "serial_number",
        "manufacturer",
        "model_name",
        "probe_type",
        "spaulding_class",
        "device",
        "status",
    ]
    list_filter = ["probe_type", "spaulding_class", "status"]
    search_fields = ["serial_number", "manufacturer", "model_name"]
    list_select_related = ["device"]


# --- calendars and reservations (issue 5) ---------------------------------------------------


@admin.register(SiteClosure)
class SiteClosureAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["date", "site", "reason"]
    list_filter = ["site"]
    date_hierarchy = "date"
    search_fields = ["reason", "site__name"]
    list_select_related = ["site"]


@admin.register(RoomClosure)
class RoomClosureAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["room", "start", "end", "reason"]
    list_filter = ["room__site"]
    search_fields = ["reason", "room__code", "room__name"]
    list_select_related = ["room"]


@admin.register(DeviceDowntime)
class DeviceDowntimeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["device", "start", "end", "reason"]
    list_filter = ["device__room__site"]
    search_fields = ["reason", "device__serial_number", "device__room__code"]
    list_select_related = ["device"]


@admin.register(BookingTemplate)
class BookingTemplateAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["label", "room", "weekday", "starts", "ends"]
    list_filter = ["weekday", "room__site"]
    search_fields = ["label", "room__code"]
    filter_horizontal = ["exam_types"]
    list_select_related = ["room"]


@admin.register(StaffWorkingHours)
class StaffWorkingHoursAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["staff", "site", "weekday", "starts", "ends"]
    list_filter = ["weekday", "site"]
    search_fields = ["staff__family_name", "staff__given_name", "staff__employee_number"]
    list_select_related = ["staff", "site"]


class InterpreterHoursInline(admin.TabularInline):  # type: ignore[type-arg]
    model = InterpreterHours
    extra = 0
    fields = ["weekday", "starts", "ends"]


@admin.register(Interpreter)
class InterpreterAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "languages", "phone", "active"]
    list_filter = ["active"]
    search_fields = ["name", "languages"]
    inlines = [InterpreterHoursInline]


class _WrittenByBookingOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    """Holds and reservations are written by ``radflow.scheduling.booking`` alone (its checks
    and the database's exclusion constraints); the admin only shows them."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Hold)
class HoldAdmin(_WrittenByBookingOnly):
    list_display = ["order", "expires_at", "released_at", "created_by"]
    list_select_related = ["order", "created_by"]


@admin.register(Reservation)
class ReservationAdmin(_WrittenByBookingOnly):
    list_display = ["start", "end", "room", "device", "staff", "interpreter", "exam", "active"]
    list_filter = ["active", "room__site"]
    date_hierarchy = "start"
    list_select_related = ["room", "device", "staff", "interpreter", "exam"]
