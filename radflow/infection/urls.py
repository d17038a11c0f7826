"""Pages of the infection app."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "infection"
urlpatterns: list[URLPattern] = []
