"""Reads of the department model shared by pages and the API.

Each list selector returns a queryset with its relations loaded, so a page or an API list costs a
fixed number of queries whatever the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from django.db.models import Count, Prefetch, Q, QuerySet

from radflow.db import get_or_not_found
from radflow.scheduling.models import (
    Department,
    Device,
    Modality,
    Probe,
    Room,
    RoomCapability,
    RoomOpeningHours,
    RoomStatus,
    Site,
    Weekday,
)

# --- sites -------------------------------------------------------------------------------------


def site_list() -> QuerySet[Site]:
    return Site.objects.annotate(
        room_count=Count("rooms", distinct=True),
        department_count=Count("departments", distinct=True),
    ).order_by("name")


def site_get(*, site_id: UUID) -> Site:
    return get_or_not_found(
        Site.objects.prefetch_related(
            Prefetch(
                "rooms",
                queryset=Room.objects.select_related("modality", "department").order_by("code"),
            ),
            Prefetch("departments", queryset=Department.objects.select_related("site")),
        ),
        pk=site_id,
        label="site",
    )


@dataclass(frozen=True)
class ModalityRoomCounts:
    modality: Modality
    in_service: int = 0
    down: int = 0
    maintenance: int = 0

    @property
    def total(self) -> int:
        return self.in_service + self.down + self.maintenance


@dataclass
class SiteOverview:
    site: Site
    rows: list[ModalityRoomCounts] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)

    @property
    def out_of_service(self) -> int:
        return sum(row.down + row.maintenance for row in self.rows)


@dataclass(frozen=True)
class DepartmentOverview:
    sites: list[SiteOverview]
    rooms_out_of_service: list[Room]


def department_overview() -> DepartmentOverview:
    """Room counts per site, modality and status, plus every room not in service (4 queries)."""
    modalities = {modality.code: modality for modality in Modality.objects.all()}
    counts: dict[tuple[UUID, str], dict[str, int]] = {}
    for row in Room.objects.values("site_id", "modality_id", "status").annotate(n=Count("id")):
        key = (row["site_id"], row["modality_id"])
        counts.setdefault(key, {})[row["status"]] = row["n"]
    sites: list[SiteOverview] = []
    for site in Site.objects.order_by("name"):
        overview = SiteOverview(site=site)
        for code, modality in modalities.items():
            by_status = counts.get((site.pk, code))
            if by_status:
                overview.rows.append(
                    ModalityRoomCounts(
                        modality=modality,
                        in_service=by_status.get(RoomStatus.IN_SERVICE, 0),
                        down=by_status.get(RoomStatus.DOWN, 0),
                        maintenance=by_status.get(RoomStatus.MAINTENANCE, 0),
                    )
                )
        sites.append(overview)
    down = list(
        Room.objects.select_related("site", "modality")
        .exclude(status=RoomStatus.IN_SERVICE)
        .order_by("site__name", "code")
    )
    return DepartmentOverview(sites=sites, rooms_out_of_service=down)


# --- modalities, capabilities, departments -----------------------------------------------------


def modality_list() -> QuerySet[Modality]:
    return Modality.objects.order_by("code")


def room_capability_list() -> QuerySet[RoomCapability]:
    return RoomCapability.objects.order_by("name")


# --- rooms -------------------------------------------------------------------------------------


def room_list(
    *,
    site_id: UUID | None = None,
    modality: str | None = None,
    status: str | None = None,
    capability: str | None = None,
) -> QuerySet[Room]:
    rooms = Room.objects.select_related("site", "modality", "department__site").prefetch_related(
        "capabilities"
    )
    if site_id:
        rooms = rooms.filter(site_id=site_id)
    if modality:
        rooms = rooms.filter(modality_id=modality)
    if status:
        rooms = rooms.filter(status=status)
    if capability:
        rooms = rooms.filter(capabilities__code=capability)
    return rooms.order_by("site__name", "code")


def room_get(*, room_id: UUID) -> Room:
    return get_or_not_found(
        Room.objects.select_related("site", "modality", "department__site").prefetch_related(
            "capabilities",
            "opening_hours",
            Prefetch("devices", queryset=Device.objects.select_related("modality")),
        ),
        pk=room_id,
        label="room",
    )


@dataclass(frozen=True)
class OpeningDay:
    weekday: int
    label: str
    intervals: list[RoomOpeningHours]


def room_opening_week(room: Room) -> list[OpeningDay]:
    """All seven days in order, closed days included, from the room's prefetched hours."""
    by_day: dict[int, list[RoomOpeningHours]] = {day.value: [] for day in Weekday}
    for interval in room.opening_hours.all():
        by_day[interval.weekday].append(interval)
    return [
        OpeningDay(
            weekday=day.value,
            label=day.label,
            intervals=sorted(by_day[day.value], key=lambda i: i.opens),
        )
        for day in Weekday
    ]


@dataclass(frozen=True)
class StatusChange:
    changed_at: datetime
    status: str
    status_label: str
    note: str
    changed_by: str


def room_status_history(room: Room) -> list[StatusChange]:
    """Each change of status or status note, newest first, from the room's history table.

    Other edits (name, capabilities) also write history rows; they are skipped here because the
    question this answers is "when was this room down, and why".
    """
    records = (
        room.history.select_related("history_user")
        .order_by("history_date", "history_id")
        .only("status", "status_note", "history_date", "history_user__username")
    )
    labels = dict(RoomStatus.choices)
    changes: list[StatusChange] = []
    previous: tuple[str, str] | None = None
    for record in records:
        current = (record.status, record.status_note)
        if current != previous:
            user = record.history_user
            changes.append(
                StatusChange(
                    changed_at=record.history_date,
                    status=record.status,
                    status_label=labels.get(record.status, record.status),
                    note=record.status_note,
                    changed_by=user.get_username() if user is not None else "system",
                )
            )
        previous = current
    changes.reverse()
    return changes


# --- devices and probes ------------------------------------------------------------------------


def device_list(
    *,
    modality: str | None = None,
    site_id: UUID | None = None,
    status: str | None = None,
    q: str | None = None,
) -> QuerySet[Device]:
    devices = Device.objects.select_related("modality", "room__site").annotate(
        probe_count=Count("probes")
    )
    if modality:
        devices = devices.filter(modality_id=modality)
    if site_id:
        devices = devices.filter(room__site_id=site_id)
    if status:
        devices = devices.filter(status=status)
    if q:
        devices = devices.filter(Q(serial_number__icontains=q) | Q(ae_title__icontains=q))
    return devices.order_by("modality_id", "manufacturer", "model_name", "serial_number")


def device_get(*, device_id: UUID) -> Device:
    return get_or_not_found(
        Device.objects.select_related("modality", "room__site").prefetch_related(
            Prefetch("probes", queryset=Probe.objects.order_by("serial_number"))
        ),
        pk=device_id,
        label="device",
    )


def probe_list(
    *,
    probe_type: str | None = None,
    spaulding_class: str | None = None,
    status: str | None = None,
    device_id: UUID | None = None,
) -> QuerySet[Probe]:
    probes = Probe.objects.select_related("device__room__site")
    if probe_type:
        probes = probes.filter(probe_type=probe_type)
    if spaulding_class:
        probes = probes.filter(spaulding_class=spaulding_class)
    if status:
        probes = probes.filter(status=status)
    if device_id:
        probes = probes.filter(device_id=device_id)
    return probes.order_by("serial_number")
