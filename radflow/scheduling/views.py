"""Department pages: overview, sites, rooms (with the status form), devices and probes."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from radflow.accounts.access import page_requires
from radflow.core.errors import ValidationFailed
from radflow.scheduling import selectors
from radflow.scheduling.forms import (
    DeviceFilterForm,
    ProbeFilterForm,
    RoomFilterForm,
    RoomStatusForm,
)
from radflow.scheduling.services import room_set_status
from radflow.web.pages import paginate

_VIEW_DEPARTMENT = ("scheduling.view_site", "scheduling.view_room")


def _pk(value: Model | None) -> Any:
    return value.pk if value is not None else None


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


@page_requires(*_VIEW_DEPARTMENT)
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    return render(
        request, "scheduling/overview.html", {"overview": selectors.department_overview()}
    )


@page_requires("scheduling.view_site")
@require_GET
def sites(request: HttpRequest) -> HttpResponse:
    return render(request, "scheduling/sites.html", {"sites": selectors.site_list()})


@page_requires("scheduling.view_site", "scheduling.view_room")
@require_GET
def site_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    site = selectors.site_get(site_id=pk)
    return render(request, "scheduling/site_detail.html", {"site": site})


@page_requires("scheduling.view_room")
@require_GET
def rooms(request: HttpRequest) -> HttpResponse:
    form = RoomFilterForm(request.GET)
    chosen = form.filters()
    rows = selectors.room_list(
        site_id=_pk(chosen.get("site")),
        modality=_pk(chosen.get("modality")),
        status=chosen.get("status"),
        capability=_pk(chosen.get("capability")),
    )
    return render(request, "scheduling/rooms.html", {"form": form, "page": paginate(request, rows)})


@page_requires("scheduling.view_room")
@require_GET
def room_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    room = selectors.room_get(room_id=pk)
    context = {
        "room": room,
        "week": selectors.room_opening_week(room),
        "status_history": selectors.room_status_history(room),
    }
    return render(request, "scheduling/room_detail.html", context)


@page_requires("scheduling.view_room", "scheduling.change_room")
@require_http_methods(["GET", "POST"])
def room_status(request: HttpRequest, pk: UUID) -> HttpResponse:
    room = selectors.room_get(room_id=pk)
    if request.method == "POST":
        form = RoomStatusForm(request.POST)
        if form.is_valid():
            try:
                updated = room_set_status(
                    room=room,
                    status=form.cleaned_data["status"],
                    note=form.cleaned_data["note"],
                    changed_by=request.user,  # type: ignore[arg-type]
                )
            except ValidationFailed as exc:
                for field, field_messages in exc.errors.items():
                    for message in field_messages:
                        form.add_error(field if field in form.fields else None, message)
            else:
                label = updated.get_status_display().lower()
                messages.success(request, f"Room {room.code} is now {label}.")
                url = reverse("scheduling:room_detail", kwargs={"pk": room.pk})
                return HttpResponseClientRedirect(url) if _is_htmx(request) else redirect(url)
    else:
        form = RoomStatusForm(initial={"status": room.status, "note": room.status_note})
    template = (
        "scheduling/_room_status_form.html" if _is_htmx(request) else "scheduling/room_status.html"
    )
    return render(request, template, {"room": room, "form": form})


@page_requires("scheduling.view_device")
@require_GET
def devices(request: HttpRequest) -> HttpResponse:
    form = DeviceFilterForm(request.GET)
    chosen = form.filters()
    rows = selectors.device_list(
        modality=_pk(chosen.get("modality")),
        site_id=_pk(chosen.get("site")),
        status=chosen.get("status"),
        q=chosen.get("q"),
    )
    return render(
        request, "scheduling/devices.html", {"form": form, "page": paginate(request, rows)}
    )


@page_requires("scheduling.view_device", "scheduling.view_probe")
@require_GET
def device_detail(request: HttpRequest, pk: UUID) -> HttpResponse:
    device = selectors.device_get(device_id=pk)
    return render(request, "scheduling/device_detail.html", {"device": device})


@page_requires("scheduling.view_probe")
@require_GET
def probes(request: HttpRequest) -> HttpResponse:
    form = ProbeFilterForm(request.GET)
    chosen = form.filters()
    rows = selectors.probe_list(
        probe_type=chosen.get("probe_type"),
        spaulding_class=chosen.get("spaulding_class"),
        status=chosen.get("status"),
    )
    return render(
        request, "scheduling/probes.html", {"form": form, "page": paginate(request, rows)}
    )
