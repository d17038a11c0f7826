from __future__ import annotations

from django.apps import AppConfig


class RosteringConfig(AppConfig):
    name = "radflow.rostering"
    label = "rostering"
    default_auto_field = "django.db.models.BigAutoField"
