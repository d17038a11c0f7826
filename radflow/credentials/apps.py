from __future__ import annotations

from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "radflow.credentials"
    label = "credentials"
    verbose_name = "Credentials and competencies"
    default_auto_field = "django.db.models.BigAutoField"
