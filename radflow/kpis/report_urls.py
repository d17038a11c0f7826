"""The monthly report pack's pages, inside the kpis namespace (``/kpis/reports/``)."""

from __future__ import annotations

from django.urls import URLPattern, path

from radflow.kpis import report_views as views

urlpatterns: list[URLPattern] = [
    path("", views.packs, name="report_packs"),
    path("build/", views.build, name="report_build"),
    path("<uuid:pack_id>/", views.pack_detail, name="report_pack_detail"),
    path("<uuid:pack_id>/status/", views.pack_status, name="report_pack_status"),
    path("<uuid:pack_id>/commentary/", views.pack_commentary, name="report_pack_commentary"),
    path(
        "versions/<uuid:version_id>/publish/", views.version_publish, name="report_version_publish"
    ),
    path("versions/<uuid:version_id>/pdf/", views.version_pdf, name="report_version_pdf"),
    path("versions/<uuid:version_id>/xlsx/", views.version_xlsx, name="report_version_xlsx"),
]
