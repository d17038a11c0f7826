"""Pages of the supplies app."""

from __future__ import annotations

from django.urls import URLPattern, path

from radflow.supplies import views, views_purchasing

app_name = "supplies"
urlpatterns: list[URLPattern] = [
    path("", views.dashboard, name="dashboard"),
    path("items/", views.items, name="items"),
    path("items/new/", views.item_add, name="item_add"),
    path("items/<uuid:pk>/", views.item_detail, name="item_detail"),
    path("items/<uuid:pk>/edit/", views.item_edit, name="item_edit"),
    path("items/<uuid:pk>/levels/", views.item_levels, name="item_levels"),
    path("locations/", views.locations, name="locations"),
    path("locations/new/", views.location_add, name="location_add"),
    path("locations/<uuid:pk>/", views.location_detail, name="location_detail"),
    path("locations/<uuid:pk>/edit/", views.location_edit, name="location_edit"),
    path("locations/<uuid:pk>/count/", views.location_count, name="location_count"),
    path("counts/", views.counts, name="counts"),
    path("counts/<uuid:pk>/", views.count_detail, name="count_detail"),
    path("movements/", views.movements, name="movements"),
    path("receive/", views.receive, name="receive"),
    path("issue/", views.issue, name="issue"),
    path("transfer/", views.transfer, name="transfer"),
    path("discard/", views.discard, name="discard"),
    path("templates/", views.templates, name="templates"),
    path("templates/<uuid:pk>/", views.template_edit, name="template_edit"),
    path("lots/", views.lots, name="lots"),
    path("lots/<uuid:pk>/", views.recall, name="recall"),
    path("lots/<uuid:pk>/recall/", views.recall_mark, name="recall_mark"),
    path("exams/<uuid:pk>/", views.exam, name="exam"),
    path("exams/<uuid:pk>/adjust/", views.exam_adjust, name="exam_adjust"),
    path("vendors/", views_purchasing.vendors, name="vendors"),
    path("vendors/new/", views_purchasing.vendor_add, name="vendor_add"),
    path("vendors/<uuid:pk>/", views_purchasing.vendor_detail, name="vendor_detail"),
    path("vendors/<uuid:pk>/edit/", views_purchasing.vendor_edit, name="vendor_edit"),
    path("orders/", views_purchasing.pos, name="pos"),
    path("orders/new/", views_purchasing.po_add, name="po_add"),
    path("orders/<uuid:pk>/", views_purchasing.po_detail, name="po_detail"),
    path("orders/<uuid:pk>/send/", views_purchasing.po_send, name="po_send"),
    path("orders/<uuid:pk>/receive/", views_purchasing.po_receive, name="po_receive"),
    path("orders/<uuid:pk>/close/", views_purchasing.po_close, name="po_close"),
    path("orders/<uuid:pk>/cancel/", views_purchasing.po_cancel, name="po_cancel"),
    path("orders/<uuid:pk>/po.pdf", views_purchasing.po_pdf, name="po_pdf"),
    path("orders/<uuid:pk>/po.csv", views_purchasing.po_csv, name="po_csv"),
    path("reorder/", views_purchasing.reorder, name="reorder"),
    path("reorder/<uuid:pk>/order/", views_purchasing.reorder_order, name="reorder_order"),
    path("reorder/<uuid:pk>/po.pdf", views_purchasing.reorder_pdf, name="reorder_pdf"),
    path("reorder/<uuid:pk>/po.csv", views_purchasing.reorder_csv, name="reorder_csv"),
]
