"""Writes to the department model: room status, devices and probes.

Pages, the API and (later) HL7/DICOM handlers all call these, so every rule lives here once.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models, transaction

from radflow.core.errors import ValidationFailed
from radflow.scheduling.models import (
    DEFAULT_SPAULDING,
    Device,
    DeviceKind,
    DeviceStatus,
    Modality,
    Probe,
    ProbeType,
    Room,
    RoomStatus,
    SpauldingClass,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

#: Statuses that take a room out of booking; the reason must be written down.
STATUSES_NEEDING_NOTE = frozenset({RoomStatus.DOWN, RoomStatus.MAINTENANCE})


def full_clean_or_fail(
    instance: models.Model,
    *,
    rename: dict[str, str] | None = None,
    exclude: list[str] | None = None,
) -> None:
    """``full_clean`` with Django's errors re-raised as ``ValidationFailed`` (API field names)."""
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        rename = rename or {}
        errors: dict[str, list[str]] = {}
        for name, messages in exc.message_dict.items():
            key = "non_field_errors" if name == NON_FIELD_ERRORS else rename.get(name, name)
            errors.setdefault(key, []).extend(messages)
        raise ValidationFailed(errors) from exc


@transaction.atomic
def room_set_status(
    *,
    room: Room,
    status: str,
    note: str = "",
    changed_by: AbstractBaseUser | None = None,
) -> Room:
    """Put a room in or out of service; the history row records who, when and why.

    The row is locked first, so two people changing the same room serialise instead of one
    silently overwriting the other's note.
    """
    note = note.strip()
    errors: dict[str, list[str]] = {}
    if status not in RoomStatus.values:
        errors["status"] = [f"{status!r} is not a room status."]
    elif status in STATUSES_NEEDING_NOTE and not note:
        label = RoomStatus(status).label.lower()
        errors["note"] = [f"Say why the room is {label}: a note is required."]
    if errors:
        raise ValidationFailed(errors)

    locked = Room.objects.select_for_update().get(pk=room.pk)
    locked.status = status
    locked.status_note = note
    full_clean_or_fail(locked, rename={"status_note": "note"})
    if changed_by is not None:
        locked._history_user = changed_by  # type: ignore[attr-defined]
    locked._change_reason = note or f"Status set to {RoomStatus(status).label}"  # type: ignore[attr-defined]
    locked.save(update_fields=["status", "status_note", "updated_at"])
    return locked


@transaction.atomic
def device_create(
    *,
    kind: str,
    modality: Modality,
    manufacturer: str,
    model_name: str,
    serial_number: str,
    ae_title: str = "",
    station_name: str = "",
    room: Room | None = None,
    install_date: date | None = None,
    status: str = DeviceStatus.IN_SERVICE,
) -> Device:
    """Register a scanner or ultrasound system.

    The worklist server finds a modality by AE title, so titles must be valid and unique; a
    device can only stand in a room of its own modality, or the room's bookings would not fit it.
    """
    device = Device(
        kind=kind,
        modality=modality,
        manufacturer=manufacturer.strip(),
        model_name=model_name.strip(),
        serial_number=serial_number.strip(),
        ae_title=ae_title.strip(),
        station_name=station_name.strip(),
        room=room,
        install_date=install_date,
        status=status,
    )
    errors: dict[str, list[str]] = {}
    if Device.objects.filter(
        manufacturer__iexact=device.manufacturer, serial_number__iexact=device.serial_number
    ).exists():
        errors["serial_number"] = [
            f"A {device.manufacturer} device with serial number {device.serial_number} "
            "is already registered."
        ]
    if device.ae_title and Device.objects.filter(ae_title=device.ae_title).exists():
        errors["ae_title"] = [f"The AE title {device.ae_title} is already used by another device."]
    if room is not None and room.modality_id != modality.code:
        errors["room"] = [
            f"Room {room.code} is a {room.modality_id} room; "
            f"a {modality.code} device cannot be placed there."
        ]
    if kind == DeviceKind.ULTRASOUND and modality.code != "US":
        errors.setdefault("modality", []).append("An ultrasound system has modality US.")
    if errors:
        raise ValidationFailed(errors)
    full_clean_or_fail(device)
    device.save()
    return device


@transaction.atomic
def probe_create(
    *,
    serial_number: str,
    manufacturer: str,
    model_name: str,
    probe_type: str,
    spaulding_class: str | None = None,
    device: Device | None = None,
    status: str = DeviceStatus.IN_SERVICE,
) -> Probe:
    """Register a transducer; its Spaulding class decides how it is reprocessed between patients.

    Without an explicit class the probe type's default applies (endocavitary and TEE probes are
    semi-critical); the model refuses to let those be non-critical.
    """
    errors: dict[str, list[str]] = {}
    if probe_type not in ProbeType.values:
        errors["probe_type"] = [f"{probe_type!r} is not a probe type."]
    if spaulding_class is not None and spaulding_class not in SpauldingClass.values:
        errors["spaulding_class"] = [f"{spaulding_class!r} is not a Spaulding class."]
    if device is not None and device.modality_id != "US":
        errors["device"] = [f"Probes attach to ultrasound systems; {device} is not one."]
    if errors:
        raise ValidationFailed(errors)
    probe = Probe(
        serial_number=serial_number.strip(),
        manufacturer=manufacturer.strip(),
        model_name=model_name.strip(),
        probe_type=probe_type,
        spaulding_class=spaulding_class or DEFAULT_SPAULDING[probe_type],
        device=device,
        status=status,
    )
    full_clean_or_fail(probe)
    probe.save()
    return probe
