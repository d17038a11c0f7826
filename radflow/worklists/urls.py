from __future__ import annotations

from django.urls import path

from radflow.worklists import views

app_name = "worklists"
urlpatterns = [
    path("coordinator/", views.coordinator, name="coordinator"),
    path("front-desk/", views.front_desk, name="front_desk"),
    path("my-exams/", views.my_exams, name="my_exams"),
    path("radiologist/", views.radiologist, name="radiologist"),
    path("billing/", views.billing, name="billing"),
    path("stat/", views.stat_board, name="stat_board"),
    path("stat/<uuid:pk>/claim/", views.stat_claim, name="stat_claim"),
]
