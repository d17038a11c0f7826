from __future__ import annotations

from django.urls import URLPattern, path

from radflow.rostering import views

app_name = "rostering"
urlpatterns: list[URLPattern] = [
    path("", views.roster_list, name="list"),
    path("new/", views.roster_create, name="create"),
    path("<uuid:pk>/", views.roster_detail, name="roster_detail"),
    path("<uuid:pk>/generate/", views.roster_generate, name="roster_generate"),
    path("<uuid:pk>/publish/", views.roster_publish, name="roster_publish"),
    path("<uuid:pk>/grid/", views.roster_grid, name="roster_grid"),
    path("<uuid:pk>/roster.xlsx", views.roster_export, name="roster_export"),
    path("runs/<uuid:pk>/", views.run_detail, name="run_detail"),
    path("runs/<uuid:pk>/progress/", views.run_progress, name="run_progress"),
    path("runs/<uuid:pk>/stop/", views.run_cancel, name="run_cancel"),
    path("calendar/people/<uuid:pk>/", views.person_calendar, name="person_calendar"),
    path("calendar/modality/", views.modality_calendar, name="modality_calendar"),
    path("calendar/on-call/", views.on_call_calendar, name="on_call_calendar"),
    path("mine/", views.my_shifts, name="my_shifts"),
    path("mine/calendar-link/", views.feed_rotate, name="feed_rotate"),
    path("feed/<str:token>.ics", views.ical_feed, name="feed"),
    path("leave/", views.leave_page, name="leave"),
    path("leave/<uuid:pk>/decide/", views.leave_decide, name="leave_decide"),
    path("preferences/", views.preferences_page, name="preferences"),
    path("preferences/<uuid:pk>/delete/", views.preference_delete, name="preference_delete"),
    path("swaps/", views.swaps_page, name="swaps"),
    path("swaps/<uuid:pk>/approve/", views.swap_approve, name="swap_approve"),
    path("swaps/<uuid:pk>/decline/", views.swap_decline, name="swap_decline"),
    path("swaps/<uuid:pk>/withdraw/", views.swap_withdraw, name="swap_withdraw"),
    path("sick-calls/", views.sick_call_page, name="sick_calls"),
    path("sick-calls/<uuid:pk>/", views.sick_call_detail, name="sick_call_detail"),
    path("sick-calls/<uuid:pk>/apply/", views.sick_call_apply, name="sick_call_apply"),
    path("setup/shift-types/", views.shift_types_page, name="shift_types"),
    path("setup/shift-types/<uuid:pk>/", views.shift_type_edit, name="shift_type_edit"),
    path("setup/cover/", views.coverage_page, name="coverage"),
    path("setup/people/", views.staff_rules_list, name="staff_rules"),
    path("setup/people/<uuid:pk>/", views.staff_rules_edit, name="staff_rules_edit"),
    path("setup/settings/", views.settings_page, name="settings"),
]
