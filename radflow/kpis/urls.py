"""Pages of the kpis app."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "kpis"
urlpatterns: list[URLPattern] = []
