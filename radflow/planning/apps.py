from __future__ import annotations

from django.apps import AppConfig


class PlanningConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "radflow.planning"
    verbose_name = "Day planning"
