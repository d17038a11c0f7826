"""Pages of the supplies app."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "supplies"
urlpatterns: list[URLPattern] = []
