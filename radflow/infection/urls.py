"""Pages of the infection app."""

from __future__ import annotations

from django.urls import URLPattern, path

from radflow.infection import views

app_name = "infection"
urlpatterns: list[URLPattern] = [
    path("", views.dashboard, name="dashboard"),
    path("reprocess/", views.reprocess, name="reprocess"),
    path("probes/<uuid:pk>/", views.probe_detail, name="probe"),
    path("probes/<uuid:pk>/status/", views.probe_status, name="probe_status"),
    path("probe-uses/<uuid:pk>/detach/", views.probe_use_detach, name="probe_use_detach"),
    path("exams/<uuid:pk>/probes/", views.exam_probes, name="exam_probes"),
    path("exams/<uuid:pk>/probes/attach/", views.exam_probe_attach, name="exam_probe_attach"),
    path("exams/<uuid:pk>/probes/override/", views.exam_probe_override, name="exam_probe_override"),
    path("cycles/", views.cycle_list, name="cycles"),
    path("cycles/<uuid:pk>/", views.cycle_detail, name="cycle"),
    path("lookback/", views.lookback, name="lookback"),
    path("lookback/export.csv", views.lookback_export, name="lookback_export"),
    path("agents/", views.agent_list, name="agents"),
    path("agents/add/", views.agent_add, name="agent_add"),
    path("agents/<uuid:pk>/", views.agent_detail, name="agent"),
    path("agents/<uuid:pk>/tests/", views.agent_test, name="agent_test"),
    path("agents/<uuid:pk>/discard/", views.agent_discard, name="agent_discard"),
    path("devices/", views.device_list, name="devices"),
    path("devices/add/", views.device_add, name="device_add"),
    path("devices/<uuid:pk>/", views.device_detail, name="device"),
    path("devices/<uuid:pk>/qc/", views.device_qc, name="device_qc"),
]
