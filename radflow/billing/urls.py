from __future__ import annotations

from django.urls import URLPattern, path

from radflow.billing import views

app_name = "billing"
urlpatterns: list[URLPattern] = [
    path("payers/", views.payers, name="payers"),
]
