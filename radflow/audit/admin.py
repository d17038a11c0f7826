"""The access log in the admin: read only, because the table refuses changes anyway."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from radflow.audit.models import AccessLog


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("seq", "at", "username", "patient_mrn", "action", "channel", "ip_address")
    list_filter = ("channel",)
    search_fields = ("=patient_mrn", "=username")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
