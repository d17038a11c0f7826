"""Infection records in the admin: read-mostly, for support; the infection pages are where they
live (a cycle, a use, a test or a check is evidence: the admin neither adds, edits nor deletes
them)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from radflow.infection.models import (
    DeviceQcLog,
    DisinfectionAgent,
    ProbeUse,
    Reprocessing,
    ReprocessingDevice,
    SolutionTest,
)


class _ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Reprocessing)
class ReprocessingAdmin(_ReadOnly):
    list_display = ("probe", "method", "level", "started_at", "ended_at", "operator")
    list_filter = ("method", "level")
    raw_id_fields = ("probe", "agent", "device")


@admin.register(ProbeUse)
class ProbeUseAdmin(_ReadOnly):
    list_display = ("probe", "exam", "at", "source")
    list_filter = ("source",)
    raw_id_fields = ("probe", "exam", "operator")


@admin.register(DisinfectionAgent)
class DisinfectionAgentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "lot_number", "kind", "expires_on", "discarded_at")
    list_filter = ("kind",)


@admin.register(ReprocessingDevice)
class ReprocessingDeviceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "kind", "serial_number", "status")
    list_filter = ("kind", "status")


@admin.register(SolutionTest)
class SolutionTestAdmin(_ReadOnly):
    list_display = ("agent", "at", "result")


@admin.register(DeviceQcLog)
class DeviceQcLogAdmin(_ReadOnly):
    list_display = ("device", "check_name", "at", "result")
