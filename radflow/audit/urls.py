from __future__ import annotations

from django.urls import URLPattern, path

from radflow.audit import views

app_name = "audit"
urlpatterns: list[URLPattern] = [
    path("access/", views.access_log, name="access_log"),
    path("access/export.csv", views.access_log_export, name="access_log_export"),
    path("verify/", views.chain_verify, name="verify"),
]
