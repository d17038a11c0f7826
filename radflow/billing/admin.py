from __future__ import annotations

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from radflow.billing.models import Payer


@admin.register(Payer)
class PayerAdmin(SimpleHistoryAdmin):  # type: ignore[misc]
    list_display = ["name", "plan", "payer_type", "payer_code", "phone", "active"]
    list_filter = ["payer_type", "active"]
    search_fields = ["name", "plan", "payer_code"]
