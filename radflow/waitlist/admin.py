"""Waitlist entries in the admin: read-mostly, for support; the waitlist page is where they live."""

from __future__ import annotations

from django.contrib import admin

from radflow.waitlist.models import WaitlistEntry


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("order", "priority", "status", "added_at", "wanted_before", "preferred_site")
    list_filter = ("status", "priority")
    raw_id_fields = ("order",)
    readonly_fields = ("added_at", "added_by", "closed_at", "closed_by")
