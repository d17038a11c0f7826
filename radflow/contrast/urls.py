"""Pages of the contrast app."""

from __future__ import annotations

from django.urls import URLPattern, path

from radflow.contrast import views

app_name = "contrast"
urlpatterns: list[URLPattern] = [
    path("", views.dashboard, name="dashboard"),
    path("agents/", views.agent_list, name="agents"),
    path("agents/new/", views.agent_add, name="agent_add"),
    path("agents/<uuid:pk>/", views.agent_edit, name="agent_edit"),
    path("settings/", views.requirement_list, name="requirements"),
    path("settings/<uuid:pk>/", views.requirement_edit, name="requirement_edit"),
    path("doses/", views.administration_list, name="administrations"),
    path("doses/<uuid:pk>/reaction/", views.reaction_add, name="reaction_add"),
    path("reactions/", views.event_list, name="events"),
    path("reactions/<uuid:pk>/", views.event_detail, name="event"),
    path("reactions/<uuid:pk>/report/", views.event_report, name="event_report"),
    path("exams/<uuid:pk>/", views.exam_page, name="exam"),
    path("exams/<uuid:pk>/dose/", views.exam_administer, name="exam_administer"),
    path("exams/<uuid:pk>/premedication/", views.exam_premedicate, name="exam_premedicate"),
    path("exams/<uuid:pk>/egfr/", views.exam_egfr, name="exam_egfr"),
]
