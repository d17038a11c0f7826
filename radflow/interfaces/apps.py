from __future__ import annotations

from django.apps import AppConfig


class InterfacesConfig(AppConfig):
    name = "radflow.interfaces"
    label = "interfaces"
    verbose_name = "Interfaces (DICOM, HL7, FHIR)"
    default_auto_field = "django.db.models.BigAutoField"
