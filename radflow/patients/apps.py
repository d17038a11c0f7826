from __future__ import annotations

from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "radflow.patients"
    label = "patients"
    default_auto_field = "django.db.models.BigAutoField"
