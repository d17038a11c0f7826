from __future__ import annotations

from django.urls import URLPattern, path

from radflow.orders import views

app_name = "orders"
urlpatterns: list[URLPattern] = [
    path("", views.order_list, name="list"),
    path("new/", views.order_create_page, name="create"),
    path("incomplete/", views.incomplete_queue, name="incomplete"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/<uuid:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<uuid:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("attachments/<uuid:pk>/", views.attachment_download, name="attachment"),
    path("<uuid:pk>/", views.order_detail, name="detail"),
    path("<uuid:pk>/edit/", views.order_edit_page, name="edit"),
    path("<uuid:pk>/attachments/", views.attachment_add_page, name="attachment_add"),
    path("<uuid:pk>/outreach/", views.outreach_add_page, name="outreach_add"),
]
