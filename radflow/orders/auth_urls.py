from __future__ import annotations

from django.urls import URLPattern, path

from radflow.orders import auth_views as views

app_name = "authorizations"
urlpatterns: list[URLPattern] = [
    path("", views.queue, name="queue"),
    path("new/<uuid:pk>/", views.request_page, name="request"),
    path("rules/", views.rules, name="rules"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("<uuid:pk>/", views.detail, name="detail"),
    path("<uuid:pk>/decide/", views.decide, name="decide"),
    path("<uuid:pk>/contacts/", views.contact_add, name="contact_add"),
]
