"""Pages of the quality program (/quality/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from radflow.quality import views, views_audits, views_feedback, views_incidents, views_peer

app_name = "quality"
urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("settings/", views.settings_page, name="settings"),
    path("mine/", views.my_work, name="my_work"),
    # image-quality audits
    path("audits/", views_audits.audit_list, name="audits"),
    path("audits/draw/", views_audits.audit_draw, name="audit_draw"),
    path("audits/mine/", views_audits.my_audits, name="my_audits"),
    path("audits/trend/", views_audits.audit_trend, name="audit_trend"),
    path("audits/<uuid:pk>/", views_audits.audit_detail, name="audit_detail"),
    path("audits/<uuid:pk>/acknowledge/", views_audits.audit_acknowledge, name="audit_acknowledge"),
    path("checklists/", views_audits.checklist_list, name="checklists"),
    path("checklists/new/", views_audits.checklist_new, name="checklist_new"),
    path("checklists/<uuid:pk>/", views_audits.checklist_detail, name="checklist_detail"),
    path("checklists/<uuid:pk>/edit/", views_audits.checklist_edit, name="checklist_edit"),
    path(
        "checklists/<uuid:pk>/items/add/",
        views_audits.checklist_item_add,
        name="checklist_item_add",
    ),
    path(
        "checklists/items/<int:pk>/",
        views_audits.checklist_item_edit,
        name="checklist_item_edit",
    ),
    # radiologist peer review
    path("peer-review/", views_peer.overview, name="peer_reviews"),
    path("peer-review/assign/", views_peer.assign, name="peer_assign"),
    path("peer-review/mine/", views_peer.mine, name="peer_mine"),
    path("peer-review/<uuid:pk>/", views_peer.review, name="peer_review"),
    path("peer-review/<uuid:pk>/decline/", views_peer.decline, name="peer_decline"),
    path("peer-review/<uuid:pk>/reassign/", views_peer.reassign, name="peer_reassign"),
    path("peer-review/follow-ups/", views_peer.follow_up_list, name="follow_ups"),
    path(
        "peer-review/follow-ups/<uuid:pk>/",
        views_peer.follow_up_detail,
        name="follow_up_detail",
    ),
    path(
        "peer-review/follow-ups/<uuid:pk>/close/",
        views_peer.follow_up_close,
        name="follow_up_close",
    ),
    # incidents and CAPA
    path("incidents/", views_incidents.incident_list, name="incidents"),
    path("incidents/new/", views_incidents.incident_new, name="incident_new"),
    path("incidents/<uuid:pk>/", views_incidents.incident_detail, name="incident_detail"),
    path("incidents/<uuid:pk>/edit/", views_incidents.incident_edit, name="incident_edit"),
    path("incidents/<uuid:pk>/actions/add/", views_incidents.action_add, name="action_add"),
    path("actions/<uuid:pk>/", views_incidents.action_detail, name="action_detail"),
    path("actions/<uuid:pk>/close/", views_incidents.action_close, name="action_close"),
    # complaints and compliments
    path("feedback/", views_feedback.feedback_list, name="feedback"),
    path("feedback/new/", views_feedback.feedback_new, name="feedback_new"),
    path("feedback/<uuid:pk>/", views_feedback.feedback_detail, name="feedback_detail"),
    path("feedback/<uuid:pk>/assign/", views_feedback.feedback_assign_view, name="feedback_assign"),
    path(
        "feedback/<uuid:pk>/resolve/",
        views_feedback.feedback_resolve_view,
        name="feedback_resolve",
    ),
    # patient satisfaction
    path("satisfaction/", views_feedback.satisfaction, name="satisfaction"),
    path(
        "satisfaction/import/",
        views_feedback.satisfaction_import_view,
        name="satisfaction_import",
    ),
    path(
        "satisfaction/template.csv",
        views_feedback.satisfaction_template,
        name="satisfaction_template",
    ),
    # interpreter and accessibility requests
    path("access/", views_feedback.access, name="access"),
    path("access/new/", views_feedback.access_new, name="access_new"),
    path("access/<uuid:pk>/", views_feedback.access_detail, name="access_detail"),
]
