"""/api/department: sites, rooms (and their status), devices, probes and modalities."""

# No ``from __future__ import annotations``: ninja reads these signatures at run time, and
# ``@paginate`` wraps them in its own module, where string annotations would not resolve.

from typing import Any, TypeVar
from uuid import UUID

from django.db.models import Model
from django.http import HttpRequest
from ninja import Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from radflow.accounts.api_auth import requires
from radflow.core.errors import ValidationFailed
from radflow.scheduling import selectors, services
from radflow.scheduling.models import (
    Device,
    DeviceStatus,
    Modality,
    ProbeType,
    Room,
    RoomStatus,
    SpauldingClass,
)
from radflow.scheduling.schemas import (
    DeviceDetailOut,
    DeviceIn,
    DeviceOut,
    ModalityOut,
    ProbeIn,
    ProbeOut,
    RoomDetailOut,
    RoomOut,
    RoomStatusIn,
    SiteDetailOut,
    SiteOut,
)

router = Router(tags=["department"])

M = TypeVar("M", bound=Model)


def _reference(model: type[M], key: Any, field: str) -> M:
    """Resolve an id given in a request body; an unknown one is bad input, not a missing page."""
    found = model._default_manager.filter(pk=key).first()
    if found is None:
        name = model._meta.verbose_name
        raise ValidationFailed({field: [f"No {name} with id {key}."]})
    return found


@router.get("/modalities", response=list[ModalityOut], auth=requires("scheduling.view_modality"))
def list_modalities(request: HttpRequest) -> Any:
    return selectors.modality_list()


@router.get("/sites", response=list[SiteOut], auth=requires("scheduling.view_site"))
@paginate(LimitOffsetPagination)
def list_sites(request: HttpRequest) -> Any:
    return selectors.site_list()


@router.get(
    "/sites/{site_id}",
    response=SiteDetailOut,
    auth=requires("scheduling.view_site", "scheduling.view_room"),
)
def get_site(request: HttpRequest, site_id: UUID) -> Any:
    return selectors.site_get(site_id=site_id)


@router.get("/rooms", response=list[RoomOut], auth=requires("scheduling.view_room"))
@paginate(LimitOffsetPagination)
def list_rooms(
    request: HttpRequest,
    site: UUID | None = None,
    modality: str | None = None,
    status: RoomStatus | None = None,
    capability: str | None = None,
) -> Any:
    return selectors.room_list(
        site_id=site, modality=modality, status=status, capability=capability
    )


@router.get("/rooms/{room_id}", response=RoomDetailOut, auth=requires("scheduling.view_room"))
def get_room(request: HttpRequest, room_id: UUID) -> Any:
    return selectors.room_get(room_id=room_id)


@router.patch(
    "/rooms/{room_id}/status",
    response=RoomDetailOut,
    auth=requires("scheduling.view_room", "scheduling.change_room"),
)
def set_room_status(request: HttpRequest, room_id: UUID, payload: RoomStatusIn) -> Any:
    room = selectors.room_get(room_id=room_id)
    services.room_set_status(
        room=room,
        status=payload.status,
        note=payload.note,
        changed_by=request.user,  # type: ignore[arg-type]
    )
    return selectors.room_get(room_id=room_id)


@router.get("/devices", response=list[DeviceOut], auth=requires("scheduling.view_device"))
@paginate(LimitOffsetPagination)
def list_devices(
    request: HttpRequest,
    modality: str | None = None,
    site: UUID | None = None,
    status: DeviceStatus | None = None,
    q: str | None = None,
) -> Any:
    return selectors.device_list(modality=modality, site_id=site, status=status, q=q)


@router.get(
    "/devices/{device_id}",
    response=DeviceDetailOut,
    auth=requires("scheduling.view_device", "scheduling.view_probe"),
)
def get_device(request: HttpRequest, device_id: UUID) -> Any:
    return selectors.device_get(device_id=device_id)


@router.post("/devices", response={201: DeviceOut}, auth=requires("scheduling.add_device"))
def create_device(request: HttpRequest, payload: DeviceIn) -> Any:
    device = services.device_create(
        kind=payload.kind,
        modality=_reference(Modality, payload.modality, "modality"),
        manufacturer=payload.manufacturer,
        model_name=payload.model_name,
        serial_number=payload.serial_number,
        ae_title=payload.ae_title,
        station_name=payload.station_name,
        room=_reference(Room, payload.room, "room") if payload.room else None,
        install_date=payload.install_date,
        status=payload.status,
    )
    return Status(201, device)


@router.get("/probes", response=list[ProbeOut], auth=requires("scheduling.view_probe"))
@paginate(LimitOffsetPagination)
def list_probes(
    request: HttpRequest,
    probe_type: ProbeType | None = None,
    spaulding_class: SpauldingClass | None = None,
    status: DeviceStatus | None = None,
    device: UUID | None = None,
) -> Any:
    return selectors.probe_list(
        probe_type=probe_type, spaulding_class=spaulding_class, status=status, device_id=device
    )


@router.post("/probes", response={201: ProbeOut}, auth=requires("scheduling.add_probe"))
def create_probe(request: HttpRequest, payload: ProbeIn) -> Any:
    probe = services.probe_create(
        serial_number=payload.serial_number,
        manufacturer=payload.manufacturer,
        model_name=payload.model_name,
        probe_type=payload.probe_type,
        spaulding_class=payload.spaulding_class,
        device=_reference(Device, payload.device, "device") if payload.device else None,
        status=payload.status,
    )
    return Status(201, probe)
