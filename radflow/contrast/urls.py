"""Pages of the contrast app."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "contrast"
urlpatterns: list[URLPattern] = []
