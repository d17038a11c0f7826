"""The AE registry's rules: what a biomed engineer may register, and the messages when not."""

from __future__ import annotations

import pytest
from django.test import override_settings

from radflow.core.errors import Conflict, ValidationFailed
from radflow.interfaces.models import ApplicationEntity, UnknownCallerPolicy
from radflow.interfaces.services import ae_create, ae_deactivate, ae_update, policy_set
from tests.scheduling.factories import DeviceFactory, ModalityFactory, RoomFactory

pytestmark = pytest.mark.django_db


def refused(exc: pytest.ExceptionInfo[ValidationFailed], field: str) -> str:
    return " ".join(exc.value.errors[field])


def test_a_device_fills_in_its_room_modality_and_station_name() -> None:
    room = RoomFactory.create(code="US-07")
    device = DeviceFactory.create(room=room, ae_title="US_MAIN_07", station_name="USMAIN07")

    ae = ae_create(ae_title="US_MAIN_07", device=device, host=" 10.20.0.17 ", port=104)

    ae.refresh_from_db()
    assert (ae.room, ae.modality_id, ae.station_name) == (room, "US", "USMAIN07")
    assert (ae.host, ae.port, ae.active, ae.may_send_mpps) == ("10.20.0.17", 104, True, True)


def test_an_ae_without_a_device_may_name_only_a_room() -> None:
    room = RoomFactory.create(modality=ModalityFactory.create(code="CT"), code="CT-01")

    ae = ae_create(ae_title="CT_WORKSTATION", room=room, restrict_to_room=True)

    assert ae.modality_id == "CT"
    assert ae.device is None


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("", "Give the AE title"),
        ("US\\MAIN", "no backslash"),
        ("SEVENTEEN_LETTERS", "1 to 16"),
        ("RADFLOW", "this server's own AE title"),
    ],
)
def test_an_invalid_ae_title_is_refused_with_its_reason(title: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        ae_create(ae_title=title)

    assert message in refused(exc, "ae_title")
    assert not ApplicationEntity.objects.exists()


def test_an_ae_title_is_registered_once_whatever_its_case() -> None:
    ae_create(ae_title="US_MAIN_01")

    with pytest.raises(ValidationFailed) as exc:
        ae_create(ae_title="us_main_01")

    assert refused(exc, "ae_title") == "The AE title US_MAIN_01 is already registered."


@override_settings(DICOM_AE_TITLE="PACS_MWL")
def test_the_servers_own_title_comes_from_the_settings() -> None:
    ae_create(ae_title="RADFLOW")

    with pytest.raises(ValidationFailed):
        ae_create(ae_title="PACS_MWL")


def test_a_host_name_or_a_bad_port_is_refused() -> None:
    with pytest.raises(ValidationFailed) as exc:
        ae_create(ae_title="US_MAIN_01", host="us-main-01.local", port=70000)

    assert "is not an IP address" in refused(exc, "host")
    assert refused(exc, "port") == "A port is a number from 1 to 65535."


def test_a_device_must_be_registered_under_its_own_ae_title() -> None:
    device = DeviceFactory.create(ae_title="US_MAIN_02")

    with pytest.raises(ValidationFailed) as exc:
        ae_create(ae_title="US_OTHER", device=device)

    assert "is set up with AE title US_MAIN_02" in refused(exc, "device")


def test_the_device_and_the_room_must_agree() -> None:
    device = DeviceFactory.create(room=RoomFactory.create(code="US-01"))
    elsewhere = RoomFactory.create(code="US-02")

    with pytest.raises(ValidationFailed) as exc:
        ae_create(ae_title=device.ae_title, device=device, room=elsewhere)

    assert refused(exc, "room") == f"Device {device} stands in room US-01, not in US-02."


def test_a_room_of_another_modality_is_refused() -> None:
    ct_room = RoomFactory.create(modality=ModalityFactory.create(code="CT"), code="CT-01")

    with pytest.raises(ValidationFailed) as exc:
        ae_create(ae_title="US_CART", room=ct_room, modality=ModalityFactory.create(code="US"))

    assert refused(exc, "room") == "Room CT-01 is a CT room, not US."


def test_a_restriction_needs_something_to_restrict_to() -> None:
    with pytest.raises(ValidationFailed) as exc:
        ae_create(ae_title="US_CART", restrict_to_room=True, restrict_to_modality=True)

    assert "Choose the room" in refused(exc, "restrict_to_room")
    assert "Choose the modality" in refused(exc, "restrict_to_modality")


def test_an_update_changes_the_fields_and_a_refused_one_changes_nothing() -> None:
    ae = ae_create(ae_title="US_MAIN_01", host="10.0.0.1")

    ae_update(ae=ae, ae_title="US_MAIN_01", host="10.0.0.2", may_send_mpps=False)
    with pytest.raises(ValidationFailed):
        ae_update(ae=ae, ae_title="US_MAIN_01", host="not an address")

    ae.refresh_from_db()
    assert (ae.host, ae.may_send_mpps) == ("10.0.0.2", False)


def test_an_update_may_keep_its_own_title_but_not_take_anothers() -> None:
    ae_create(ae_title="US_MAIN_01")
    second = ae_create(ae_title="US_MAIN_02")

    ae_update(ae=second, ae_title="US_MAIN_02", description="Portable")
    with pytest.raises(ValidationFailed) as exc:
        ae_update(ae=second, ae_title="US_MAIN_01")

    assert "already registered" in refused(exc, "ae_title")


def test_deactivating_twice_says_it_is_already_inactive() -> None:
    ae = ae_create(ae_title="US_MAIN_01")

    ae_deactivate(ae=ae)
    with pytest.raises(Conflict, match="US_MAIN_01 is already inactive"):
        ae_deactivate(ae=ae)

    ae.refresh_from_db()
    assert not ae.active


def test_the_policy_accepts_only_its_two_choices() -> None:
    assert policy_set(unknown_caller=UnknownCallerPolicy.READ_ONLY).unknown_caller == "read_only"

    with pytest.raises(ValidationFailed) as exc:
        policy_set(unknown_caller="accept_all")

    assert "is not a policy" in refused(exc, "unknown_caller")
