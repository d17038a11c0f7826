from __future__ import annotations

from django.urls import URLPattern, path

from radflow.staff import views

app_name = "staff"
urlpatterns: list[URLPattern] = [
    path("", views.staff_list, name="list"),
    path("<uuid:pk>/", views.staff_detail, name="detail"),
]
