from __future__ import annotations

from django.apps import AppConfig


class WaitlistConfig(AppConfig):
    name = "radflow.waitlist"
    label = "waitlist"
    verbose_name = "Waitlist"
    default_auto_field = "django.db.models.BigAutoField"
