from __future__ import annotations

from typing import Any

import pytest

from radflow.core.errors import ValidationFailed
from radflow.scheduling.models import DeviceKind, ProbeType, Room, RoomStatus, SpauldingClass
from radflow.scheduling.services import device_create, probe_create, room_set_status
from tests.scheduling.factories import DeviceFactory, ModalityFactory, ProbeFactory, RoomFactory

pytestmark = pytest.mark.django_db


def test_setting_a_room_down_without_a_note_is_refused_and_changes_nothing() -> None:
    room = RoomFactory.create()
    with pytest.raises(ValidationFailed) as caught:
        room_set_status(room=room, status=RoomStatus.DOWN, note="   ")
    assert "note" in caught.value.errors
    room.refresh_from_db()
    assert room.status == RoomStatus.IN_SERVICE
    assert room.history.count() == 1  # only the creation


def test_maintenance_with_a_note_is_saved_with_who_and_why_in_history(biomed) -> None:
    room = RoomFactory.create()
    updated = room_set_status(
        room=room,
        status=RoomStatus.MAINTENANCE,
        note="Annual preventive maintenance by GE field engineer",
        changed_by=biomed,
    )
    assert updated.status == RoomStatus.MAINTENANCE
    assert Room.objects.get(pk=room.pk).status_note.startswith("Annual preventive")
    latest = room.history.latest()
    assert latest.status == RoomStatus.MAINTENANCE
    assert latest.history_user == biomed
    assert latest.history_change_reason.startswith("Annual preventive")


def test_an_unknown_status_names_the_status_field() -> None:
    room = RoomFactory.create()
    with pytest.raises(ValidationFailed) as caught:
        room_set_status(room=room, status="closed", note="x")
    assert list(caught.value.errors) == ["status"]


def test_back_in_service_needs_no_note() -> None:
    room = RoomFactory.create(status=RoomStatus.DOWN, status_note="Gel warmer fault")
    updated = room_set_status(room=room, status=RoomStatus.IN_SERVICE)
    assert updated.status == RoomStatus.IN_SERVICE
    assert updated.status_note == ""


def _device_args(**overrides: object) -> dict[str, Any]:
    args: dict[str, object] = {
        "kind": DeviceKind.ULTRASOUND,
        "modality": ModalityFactory.create(code="US"),
        "manufacturer": "Philips",
        "model_name": "EPIQ Elite",
        "serial_number": "US71234567",
        "ae_title": "EPIQ_RM3",
    }
    args.update(overrides)
    return args


def test_a_valid_device_is_created_in_a_room_of_its_modality() -> None:
    room = RoomFactory.create(modality=ModalityFactory.create(code="US"))
    device = device_create(**_device_args(room=room))
    assert device.room == room
    assert device.ae_title == "EPIQ_RM3"


@pytest.mark.parametrize("ae_title", ["BAD\\TITLE", "THIS_TITLE_IS_TOO_LONG", "ÉCHO_1"])
def test_a_malformed_ae_title_is_refused(ae_title: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        device_create(**_device_args(ae_title=ae_title))
    assert "ae_title" in caught.value.errors


def test_a_serial_number_already_registered_for_the_manufacturer_is_refused() -> None:
    DeviceFactory.create(manufacturer="Philips", serial_number="US71234567", ae_title="OTHER")
    with pytest.raises(ValidationFailed) as caught:
        device_create(**_device_args())
    assert "serial_number" in caught.value.errors


def test_an_ae_title_already_in_use_is_refused() -> None:
    DeviceFactory.create(ae_title="EPIQ_RM3")
    with pytest.raises(ValidationFailed) as caught:
        device_create(**_device_args())
    assert "ae_title" in caught.value.errors


def test_a_device_cannot_stand_in_a_room_of_another_modality() -> None:
    ct_room = RoomFactory.create(modality=ModalityFactory.create(code="CT"), code="CT-01")
    with pytest.raises(ValidationFailed) as caught:
        device_create(**_device_args(room=ct_room))
    assert "CT-01" in caught.value.errors["room"][0]


@pytest.mark.parametrize(
    ("probe_type", "expected"),
    [
        (ProbeType.LINEAR, SpauldingClass.NON_CRITICAL),
        (ProbeType.ENDOCAVITARY, SpauldingClass.SEMI_CRITICAL),
        (ProbeType.TEE, SpauldingClass.SEMI_CRITICAL),
    ],
)
def test_a_probe_takes_the_spaulding_class_of_its_type_by_default(
    probe_type: str, expected: str
) -> None:
    probe = probe_create(
        serial_number=f"P-{probe_type}",
        manufacturer="GE HealthCare",
        model_name="IC5-9",
        probe_type=probe_type,
    )
    assert probe.spaulding_class == expected


def test_an_endocavitary_probe_cannot_be_non_critical() -> None:
    with pytest.raises(ValidationFailed) as caught:
        probe_create(
            serial_number="IC-778812",
            manufacturer="GE HealthCare",
            model_name="IC5-9",
            probe_type=ProbeType.ENDOCAVITARY,
            spaulding_class=SpauldingClass.NON_CRITICAL,
        )
    assert "spaulding_class" in caught.value.errors


def test_a_probe_serial_number_is_unique() -> None:
    ProbeFactory.create(serial_number="ML-300")
    with pytest.raises(ValidationFailed) as caught:
        probe_create(
            serial_number="ML-300", manufacturer="GE", model_name="ML6-15", probe_type="linear"
        )
    assert "serial_number" in caught.value.errors


def test_a_probe_attaches_only_to_an_ultrasound_system() -> None:
    scanner = DeviceFactory.create(
        kind=DeviceKind.SCANNER, modality=ModalityFactory.create(code="CT")
    )
    with pytest.raises(ValidationFailed) as caught:
        probe_create(
            serial_number="C1-6-001",
            manufacturer="GE",
            model_name="C1-6",
            probe_type="curved",
            device=scanner,
        )
    assert "device" in caught.value.errors
