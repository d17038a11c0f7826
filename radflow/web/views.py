"""The Today page, the health check and the error pages."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone
from django.views.decorators.cache import never_cache

import radflow
from radflow.accounts.access import page_requires, public_page
from radflow.accounts.selectors import user_roles
from radflow.core.roles import Role
from radflow.web.selectors import TodayCounts

logger = logging.getLogger(__name__)

#: One small card template per role; a user with several roles sees each set.
ROLE_CARD_TEMPLATES: dict[Role, str] = {role: f"web/cards/{role.value}.html" for role in Role}


def _greeting(now: datetime) -> str:
    hour = timezone.localtime(now).hour
    if hour < 12:
        return "Good morning"
    if hour < 18:
        return "Good afternoon"
    return "Good evening"


@page_requires()
def home(request: HttpRequest) -> HttpResponse:
    roles = user_roles(request.user)
    if not roles:
        return render(request, "web/no_role.html")
    now = timezone.now()
    context = {
        "greeting": _greeting(now),
        "today": timezone.localdate(now),
        "time_zone": settings.TIME_ZONE,
        "role_sections": [(role, ROLE_CARD_TEMPLATES[role]) for role in roles],
        "counts": TodayCounts(),
    }
    return render(request, "web/home.html", context)


def _database_status() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.error("healthz: database unreachable: %s", exc.__class__.__name__)
        return {"ok": False, "vendor": connection.vendor}
    return {"ok": True, "vendor": connection.vendor}


def _migration_status() -> dict[str, Any]:
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        logger.error("healthz: cannot read migration state: %s", exc.__class__.__name__)
        return {"ok": False, "unapplied": None}
    return {"ok": not plan, "unapplied": len(plan)}


@public_page
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and monitors: 200 when the database answers and is fully migrated."""
    database = _database_status()
    migrations = _migration_status() if database["ok"] else {"ok": False, "unapplied": None}
    ok = database["ok"] and migrations["ok"]
    body = {
        "status": "ok" if ok else "error",
        "database": database,
        "migrations": migrations,
        "version": radflow.__version__,
    }
    return JsonResponse(body, status=200 if ok else 503)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _problem(*, status: int, title: str, detail: str, code: str) -> JsonResponse:
    """Same body as ``radflow.api.problem``, for API paths that never reached a router."""
    body = {
        "type": f"https://radflow.invalid/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    return JsonResponse(body, status=status, content_type="application/problem+json")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return _problem(
            status=403,
            title="Permission denied",
            detail="Your role does not allow this operation.",
            code="permission_denied",
        )
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return _problem(
            status=404,
            title="Not found",
            detail=f"No API endpoint at {request.path}.",
            code="not_found",
        )
    return render(request, "404.html", {"request_path": request.path}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without context processors: whatever broke may be what they need."""
    if _is_api(request):
        return _problem(
            status=500,
            title="Server error",
            detail="Something went wrong on our side; it has been logged.",
            code="server_error",
        )
    return HttpResponse(loader.get_template("500.html").render(), status=500)
