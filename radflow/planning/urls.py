from __future__ import annotations

from django.urls import URLPattern, path

from radflow.planning import views

app_name = "planning"
urlpatterns: list[URLPattern] = [
    path("start/", views.start, name="start"),
    path("runs/<uuid:pk>/", views.run_detail, name="run"),
    path("runs/<uuid:pk>/progress/", views.run_progress, name="run_progress"),
    path("runs/<uuid:pk>/apply/", views.apply, name="apply"),
    path("runs/<uuid:pk>/discard/", views.discard, name="discard"),
    path("settings/", views.settings_page, name="settings"),
]
