from __future__ import annotations

from django.urls import URLPattern, path

from radflow.scheduling import views

app_name = "scheduling"
urlpatterns: list[URLPattern] = [
    path("", views.overview, name="overview"),
    path("sites/", views.sites, name="sites"),
    path("sites/<uuid:pk>/", views.site_detail, name="site_detail"),
    path("rooms/", views.rooms, name="rooms"),
    path("rooms/<uuid:pk>/", views.room_detail, name="room_detail"),
    path("rooms/<uuid:pk>/status/", views.room_status, name="room_status"),
    path("devices/", views.devices, name="devices"),
    path("devices/<uuid:pk>/", views.device_detail, name="device_detail"),
    path("probes/", views.probes, name="probes"),
]
