from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.http import HttpRequest

from radflow.accounts.models import ApiToken

if TYPE_CHECKING:
    _TokenAdminBase = admin.ModelAdmin[ApiToken]
else:
    _TokenAdminBase = admin.ModelAdmin


@admin.register(ApiToken)
class ApiTokenAdmin(_TokenAdminBase):
    """Read-mostly: tokens are issued on the API tokens page, which shows the secret once."""

    list_display = (
        "prefix",
        "name",
        "user",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "name", "user__username")
    readonly_fields = ("prefix", "key_hash", "last_used_at", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
