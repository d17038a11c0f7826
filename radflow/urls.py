"""Top-level routes: each domain app owns its own ``urls.py`` and API router."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from radflow.api import api
from radflow.interfaces.fhir.api import fhir_api

urlpatterns = [
    path("", include("radflow.web.urls")),
    path("accounts/", include("radflow.accounts.urls")),
    path("patients/", include("radflow.patients.urls")),
    path("department/", include("radflow.scheduling.urls")),
    path("catalog/", include("radflow.catalog.urls")),
    path("staff/", include("radflow.staff.urls")),
    path("billing/", include("radflow.billing.urls")),
    path("audit/", include("radflow.audit.urls")),
    path("orders/", include("radflow.orders.urls")),
    path("authorizations/", include("radflow.orders.auth_urls")),
    path("exams/", include("radflow.exams.urls")),
    path("intake/", include("radflow.intake.urls")),
    path("worklists/", include("radflow.worklists.urls")),
    path("notifications/", include("radflow.notifications.urls")),
    path("rosters/", include("radflow.rostering.urls")),
    path("credentials/", include("radflow.credentials.urls")),
    path("planning/", include("radflow.planning.urls")),
    path("waitlist/", include("radflow.waitlist.urls")),
    path("infection/", include("radflow.infection.urls")),
    path("supplies/", include("radflow.supplies.urls")),
    path("contrast/", include("radflow.contrast.urls")),
    path("quality/", include("radflow.quality.urls")),
    path("kpis/", include("radflow.kpis.urls")),
    path("interfaces/", include("radflow.interfaces.urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("fhir/R4/", fhir_api.urls),
]

handler403 = "radflow.web.views.permission_denied"
handler404 = "radflow.web.views.page_not_found"
handler500 = "radflow.web.views.server_error"
