from __future__ import annotations

from django.urls import path

from radflow.notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_list, name="list"),
    path("read/", views.mark_read, name="mark_read"),
    path("badge/", views.badge, name="badge"),
]
