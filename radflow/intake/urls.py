"""Intake pages, mounted at /intake/: the exam's page and one POST URL per section."""

from __future__ import annotations

from django.urls import path

from radflow.intake import views

app_name = "intake"
urlpatterns = [
    path("<uuid:pk>/", views.intake_exam, name="exam"),
    path("<uuid:pk>/identity/", views.intake_identity, name="identity"),
    path("<uuid:pk>/screening/", views.intake_screening, name="screening"),
    path("<uuid:pk>/consent/", views.intake_consent, name="consent"),
    path("<uuid:pk>/prep/", views.intake_prep, name="prep"),
    path("<uuid:pk>/interpreter/", views.intake_interpreter, name="interpreter"),
]
