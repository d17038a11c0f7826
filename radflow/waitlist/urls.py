from __future__ import annotations

from django.urls import URLPattern, path

from radflow.waitlist import views

app_name = "waitlist"
urlpatterns: list[URLPattern] = [
    path("", views.waitlist, name="list"),
    path("add/", views.add, name="add"),
    path("slot/", views.slot, name="slot"),
    path("<uuid:pk>/remove/", views.remove, name="remove"),
    path("<uuid:pk>/book/", views.book, name="book"),
]
