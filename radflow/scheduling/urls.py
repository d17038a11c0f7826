from __future__ import annotations

from django.urls import URLPattern, path

from radflow.scheduling import board_views, views
from radflow.scheduling import calendar_views as cal

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
    # Calendars and eligibility (issue 5, parts 1-2): holidays, hours, templates, closures,
    # staff standard hours, interpreters, device downtime; who may take an exam type on a day.
    path("calendars/", cal.index, name="calendars"),
    path("calendars/sites/<uuid:pk>/", cal.site_page, name="calendars_site"),
    path("calendars/sites/<uuid:pk>/holidays/", cal.holiday_add, name="calendars_holiday_add"),
    path(
        "calendars/holidays/<int:pk>/remove/", cal.holiday_remove, name="calendars_holiday_remove"
    ),
    path("calendars/sites/<uuid:pk>/templates/", cal.template_add, name="calendars_template_add"),
    path(
        "calendars/templates/<int:pk>/remove/",
        cal.template_remove,
        name="calendars_template_remove",
    ),
    path("calendars/sites/<uuid:pk>/closures/", cal.closure_add, name="calendars_closure_add"),
    path("calendars/closures/<int:pk>/", cal.closure_detail, name="calendars_closure"),
    path(
        "calendars/closures/<int:pk>/remove/", cal.closure_remove, name="calendars_closure_remove"
    ),
    path("calendars/rooms/<uuid:pk>/hours/", cal.room_hours, name="calendars_room_hours"),
    path("calendars/staff/<uuid:pk>/hours/", cal.staff_hours, name="calendars_staff_hours"),
    path("calendars/staff-hours/<int:pk>/remove/", cal.hours_remove, name="calendars_hours_remove"),
    path("calendars/interpreters/", cal.interpreters, name="calendars_interpreters"),
    path("calendars/interpreters/<uuid:pk>/", cal.interpreter_detail, name="calendars_interpreter"),
    path(
        "calendars/interpreter-hours/<int:pk>/remove/",
        cal.interpreter_hours_remove,
        name="calendars_interpreter_hours_remove",
    ),
    path(
        "calendars/downtime/<int:pk>/remove/", cal.downtime_remove, name="calendars_downtime_remove"
    ),
    path("devices/<uuid:pk>/downtime/", cal.device_downtime, name="device_downtime"),
    path("devices/<uuid:pk>/downtime/add/", cal.device_downtime_add, name="device_downtime_add"),
    path("eligibility/", cal.eligibility, name="eligibility"),
    # The schedule board (issue 5): a site's day, its polled body, a room's week, moves.
    path("board/", board_views.board, name="board"),
    path("board/body/", board_views.board_body, name="board_body"),
    path("board/plan/", board_views.board_plan, name="board_plan"),
    path("board/rooms/<uuid:pk>/week/", board_views.room_week, name="board_room_week"),
    path("board/exams/<uuid:pk>/move/", board_views.move, name="board_move"),
    path("board/room-status/", board_views.room_status, name="board_room_status"),
]
