from __future__ import annotations

from django.urls import URLPattern, path

from radflow.patients import views

app_name = "patients"
urlpatterns: list[URLPattern] = [
    path("", views.patient_list, name="list"),
    path("new/", views.patient_create_page, name="create"),
    path("<uuid:pk>/", views.patient_detail, name="detail"),
    path("<uuid:pk>/edit/", views.patient_edit_page, name="edit"),
    path("<uuid:pk>/allergies/new/", views.allergy_add_page, name="allergy_add"),
]
