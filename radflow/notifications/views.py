"""The bell: a person's own notifications, the unread count for the header, mark-as-read.

Notifications carry accession numbers and exam types, never names, so reading them is not a
patient read and is not audited.
"""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from radflow.accounts.access import page_requires
from radflow.notifications.models import Notification
from radflow.notifications.services import notifications_mark_read
from radflow.web.pages import paginate

BADGE_REFRESH_SECONDS = 30


def _mine(request: HttpRequest) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient_id=request.user.pk)


@page_requires()
@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    rows = _mine(request).order_by(F("read_at").asc(nulls_first=True), "-created_at", "-id")
    context = {
        "page": paginate(request, rows),
        "unread": _mine(request).filter(read_at__isnull=True).count(),
    }
    return render(request, "notifications/list.html", context)


@page_requires()
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    """Marks the ticked notifications read, or all of them when none are given."""
    ids = [int(value) for value in request.POST.getlist("id") if value.isdigit()]
    notifications_mark_read(user=request.user, ids=ids or None)
    return redirect("notifications:list")


@page_requires()
@require_GET
def badge(request: HttpRequest) -> HttpResponse:
    unread = _mine(request).filter(read_at__isnull=True).count()
    return render(
        request,
        "notifications/_badge.html",
        {"unread": unread, "refresh": BADGE_REFRESH_SECONDS},
    )
