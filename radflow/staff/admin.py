from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from radflow.staff.models import StaffMember


@admin.register(StaffMember)
class StaffMemberAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = [
        "family_name",
        "given_name",
        "employee_number",
        "job_role",
        "home_site",
        "fte",
        "active",
    ]
    list_filter = ["job_role", "home_site", "modalities", "active"]
    search_fields = ["family_name", "given_name", "employee_number", "email"]
    list_select_related = ["home_site"]
    filter_horizontal = ["modalities"]
    raw_id_fields = ["user"]
