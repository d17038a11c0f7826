"""Pages of the kpis app (the dashboards add theirs here)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path

from radflow.kpis import dashboard_views, views

app_name = "kpis"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", dashboard_views.home, name="home"),
    path("director/", dashboard_views.director, name="director"),
    path("coordinator/", dashboard_views.coordinator, name="coordinator"),
    path("modality/", dashboard_views.modality, name="modality"),
    path("export/", dashboard_views.table_export, name="export"),
    path("exams/", dashboard_views.drilldown, name="drilldown"),
    path("exams/export/", dashboard_views.drilldown_export, name="drilldown_export"),
    path("targets/", views.targets, name="targets"),
    path("targets/<uuid:department_id>/", views.target_edit, name="target_edit"),
    path("targets/<uuid:department_id>/reset/", views.target_reset, name="target_reset"),
    path("reports/", include("radflow.kpis.report_urls")),
]
