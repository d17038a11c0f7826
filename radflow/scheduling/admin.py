from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from radflow.scheduling.models import (
    Department,
    Device,
    Modality,
    Probe,
    Room,
    RoomCapability,
    RoomOpeningHours,
    Site,
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
