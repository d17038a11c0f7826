"""Pages of the interfaces app: the DICOM AE registry (and, from the MPPS part, reconciliation)."""

from __future__ import annotations

from django.urls import URLPattern, path

from radflow.interfaces import views_mpps, views_registry

app_name = "interfaces"
urlpatterns: list[URLPattern] = [
    # The DICOM AE registry and the unknown-caller policy (issue 6).
    path("dicom/", views_registry.registry, name="dicom"),
    path("dicom/policy/", views_registry.policy, name="dicom_policy"),
    path("dicom/add/", views_registry.ae_add, name="ae_add"),
    path("dicom/<uuid:pk>/", views_registry.ae_edit, name="ae_edit"),
    path("dicom/<uuid:pk>/deactivate/", views_registry.ae_deactivate, name="ae_deactivate"),
    # MPPS reconciliation: unmatched and failed steps, exams begun with unmet stops (issue 6).
    path("mpps/", views_mpps.mpps_list, name="mpps"),
    path("mpps/<uuid:pk>/", views_mpps.mpps_step, name="mpps_step"),
    path("mpps/<uuid:pk>/link/", views_mpps.mpps_link, name="mpps_link"),
    path("mpps/<uuid:pk>/order/", views_mpps.mpps_order, name="mpps_order"),
    path("mpps/<uuid:pk>/clear/", views_mpps.mpps_clear, name="mpps_clear"),
]
