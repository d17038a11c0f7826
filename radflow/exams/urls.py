"""``/exams/``: the exam page, one URL per state action, and the two audit reports."""

from __future__ import annotations

from django.urls import URLPattern, path

from radflow.exams import views

app_name = "exams"
urlpatterns: list[URLPattern] = [
    path("overrides/", views.override_report, name="overrides"),
    path("overrides/export/", views.override_report_export, name="overrides_export"),
    path("documentation-audit/", views.documentation_audit, name="documentation_audit"),
    path(
        "documentation-audit/export/",
        views.documentation_audit_export,
        name="documentation_audit_export",
    ),
    path("<uuid:pk>/", views.exam_detail, name="detail"),
    path("<uuid:pk>/triage/", views.exam_triage, name="triage"),
    path("<uuid:pk>/schedule/", views.exam_schedule, name="schedule"),
    path("<uuid:pk>/reschedule/", views.exam_reschedule, name="reschedule"),
    path("<uuid:pk>/arrive/", views.exam_arrive, name="arrive"),
    path("<uuid:pk>/no-show/", views.exam_no_show, name="no_show"),
    path("<uuid:pk>/begin/", views.exam_begin, name="begin"),
    path("<uuid:pk>/complete/", views.exam_complete, name="complete"),
    path("<uuid:pk>/discontinue/", views.exam_discontinue, name="discontinue"),
    path("<uuid:pk>/report/", views.exam_report, name="report"),
    path("<uuid:pk>/sign/", views.exam_sign, name="sign"),
    path("<uuid:pk>/bill/", views.exam_bill, name="bill"),
    path("<uuid:pk>/cancel/", views.exam_cancel, name="cancel"),
]
