"""Pages of the interfaces app: the DICOM AE registry, MPPS reconciliation, the HL7 console."""

from __future__ import annotations

from django.urls import URLPattern, path

from radflow.interfaces import views_hl7, views_mpps, views_registry

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
    # The HL7 message console, edit-and-replay, the outbound queue and the HL7 settings (issue 7).
    path("hl7/", views_hl7.console, name="hl7"),
    path("hl7/dead-letters/", views_hl7.dead_letters, name="hl7_dead_letters"),
    path("hl7/outbound/", views_hl7.outbound, name="hl7_outbound"),
    path("hl7/<uuid:pk>/", views_hl7.message_detail, name="hl7_message"),
    path("hl7/<uuid:pk>/replay/", views_hl7.message_replay, name="hl7_message_replay"),
    path("hl7/<uuid:pk>/skip/", views_hl7.message_skip, name="hl7_message_skip"),
    path("hl7/<uuid:pk>/resend/", views_hl7.message_resend, name="hl7_message_resend"),
    path("hl7/interfaces/", views_hl7.interfaces_list, name="hl7_interfaces"),
    path("hl7/interfaces/add/", views_hl7.interface_add, name="hl7_interface_add"),
    path("hl7/interfaces/<uuid:pk>/", views_hl7.interface_edit, name="hl7_interface_edit"),
    path("hl7/destinations/", views_hl7.destinations_list, name="hl7_destinations"),
    path("hl7/destinations/add/", views_hl7.destination_add, name="hl7_destination_add"),
    path("hl7/destinations/<uuid:pk>/", views_hl7.destination_edit, name="hl7_destination_edit"),
    path(
        "hl7/destinations/<uuid:pk>/release/",
        views_hl7.destination_release,
        name="hl7_destination_release",
    ),
    path("hl7/settings/", views_hl7.settings_page, name="hl7_settings"),
]
