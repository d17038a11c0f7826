from __future__ import annotations

from django.urls import URLPattern, path

from radflow.catalog import views

app_name = "catalog"
urlpatterns: list[URLPattern] = [
    path("", views.exam_types, name="exam_types"),
    path("exam-types/<uuid:pk>/", views.exam_type_detail, name="exam_type_detail"),
]
