"""The DICOM registry pages as biomed, the admin and the readers see and use them."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from radflow.core.roles import Role
from radflow.interfaces.models import ApplicationEntity, DicomPolicy, UnknownCallerPolicy
from radflow.interfaces.services import ae_create, policy_set
from radflow.scheduling.models import Device
from tests.conftest import client_for, make_user
from tests.scheduling.factories import DeviceFactory, RoomFactory

pytestmark = pytest.mark.django_db

LIST = reverse("interfaces:dicom")
ADD = reverse("interfaces:ae_add")
POLICY = reverse("interfaces:dicom_policy")


@pytest.fixture
def device() -> Device:
    room = RoomFactory.create(code="US-03", name="Ultrasound 3")
    return DeviceFactory.create(room=room, ae_title="US_MAIN_03", station_name="USMAIN03")


def form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ae_title": "US_MAIN_03",
        "host": "10.20.0.13",
        "port": "104",
        "device": "",
        "room": "",
        "modality": "",
        "station_name": "",
        "description": "",
        "may_send_mpps": "on",
        "active": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def editor(role: Role) -> Client:
    return client_for(make_user(role, f"editor_{role.value}"))


@pytest.mark.parametrize("role", [Role.BIOMED, Role.ADMIN])
def test_biomed_and_the_admin_register_a_modality_from_its_device(
    role: Role, device: Device
) -> None:
    client = editor(role)

    response = client.post(ADD, form_data(device=str(device.pk)), follow=True)

    assert response.status_code == 200
    assert "US_MAIN_03 registered." in response.content.decode()
    ae = ApplicationEntity.objects.get()
    assert (ae.ae_title, ae.host, ae.port) == ("US_MAIN_03", "10.20.0.13", 104)
    assert (ae.room_id, ae.modality_id, ae.station_name) == (device.room_id, "US", "USMAIN03")
    page = response.content.decode()
    assert "10.20.0.13:104" in page and "USMAIN03" in page and "US-03" in page


@pytest.mark.parametrize("role", [Role.BIOMED, Role.ADMIN])
def test_biomed_and_the_admin_edit_a_modality(role: Role, device: Device) -> None:
    ae = ae_create(ae_title="US_MAIN_03", device=device)
    client = editor(role)
    url = reverse("interfaces:ae_edit", kwargs={"pk": ae.pk})

    assert 'value="US_MAIN_03"' in client.get(url).content.decode()
    response = client.post(
        url,
        form_data(
            device=str(device.pk),
            host="10.20.0.99",
            restrict_to_room="on",
            may_send_mpps=None,
            description="Room 3 cart",
        ),
    )

    assert response.status_code == 302
    ae.refresh_from_db()
    assert (ae.host, ae.restrict_to_room, ae.may_send_mpps) == ("10.20.0.99", True, False)
    assert ae.description == "Room 3 cart"
    row = client.get(LIST).content.decode()
    assert "its room" in row and "Room 3 cart" in row


@pytest.mark.parametrize("role", [Role.BIOMED, Role.ADMIN])
def test_biomed_and_the_admin_deactivate_a_modality(role: Role, device: Device) -> None:
    ae = ae_create(ae_title="US_MAIN_03", device=device)
    client = editor(role)

    response = client.post(reverse("interfaces:ae_deactivate", kwargs={"pk": ae.pk}), follow=True)

    assert "US_MAIN_03 deactivated" in response.content.decode()
    ae.refresh_from_db()
    assert not ae.active
    again = client.post(reverse("interfaces:ae_deactivate", kwargs={"pk": ae.pk}), follow=True)
    assert "US_MAIN_03 is already inactive." in again.content.decode()


def test_a_refused_form_shows_the_reason_on_its_field_and_saves_nothing(device: Device) -> None:
    client = editor(Role.BIOMED)
    other_room = RoomFactory.create(code="US-09")

    response = client.post(
        ADD, form_data(device=str(device.pk), room=str(other_room.pk), host="scanner-3")
    )

    assert response.status_code == 422
    page = response.content.decode()
    assert "stands in room US-03, not in US-09" in page
    assert "scanner-3 is not an IP address" in page
    assert not ApplicationEntity.objects.exists()


def test_a_refused_edit_leaves_the_modality_as_it_was(device: Device) -> None:
    ae = ae_create(ae_title="US_MAIN_03", device=device, host="10.20.0.13")
    ae_create(ae_title="CT_MAIN_01")
    client = editor(Role.BIOMED)

    response = client.post(
        reverse("interfaces:ae_edit", kwargs={"pk": ae.pk}),
        form_data(ae_title="CT_MAIN_01", host="10.20.0.50"),
    )

    assert response.status_code == 422
    assert "The AE title CT_MAIN_01 is already registered." in response.content.decode()
    ae.refresh_from_db()
    assert (ae.ae_title, ae.host) == ("US_MAIN_03", "10.20.0.13")


def test_a_port_out_of_range_is_caught_by_the_form(device: Device) -> None:
    response = editor(Role.BIOMED).post(ADD, form_data(port="70000"))

    assert response.status_code == 422
    assert not ApplicationEntity.objects.exists()


def test_biomed_changes_the_policy_for_unknown_callers() -> None:
    client = editor(Role.BIOMED)
    user = User.objects.get(username="editor_biomed")

    response = client.post(POLICY, {"unknown_caller": "read_only"}, follow=True)

    assert "Unknown callers: accept worklist queries and echo only (no mpps)." in (
        response.content.decode()
    )
    policy = DicomPolicy.objects.get()
    assert (policy.unknown_caller, policy.updated_by) == (UnknownCallerPolicy.READ_ONLY, user)


def test_an_unknown_policy_value_is_refused_and_changes_nothing() -> None:
    policy_set(unknown_caller=UnknownCallerPolicy.READ_ONLY)

    response = editor(Role.BIOMED).post(POLICY, {"unknown_caller": "accept_everything"})

    assert response.status_code == 422
    assert DicomPolicy.objects.get().unknown_caller == UnknownCallerPolicy.READ_ONLY


def test_the_page_shows_the_servers_own_ae_title_and_port(settings: Any) -> None:
    settings.DICOM_AE_TITLE = "RADFLOW"
    settings.DICOM_PORT = 11112

    page = editor(Role.DIRECTOR).get(LIST).content.decode()

    assert "<code>RADFLOW</code>" in page and "<code>11112</code>" in page
    assert "Reject the association" in page


@pytest.mark.parametrize("role", [Role.DIRECTOR, Role.COORDINATOR])
def test_readers_see_the_registry_without_edit_controls(role: Role, device: Device) -> None:
    ae_create(ae_title="US_MAIN_03", device=device)
    client = editor(role)

    page = client.get(LIST).content.decode()

    assert "US_MAIN_03" in page
    assert ADD not in page
    assert POLICY not in page
    assert reverse("interfaces:ae_edit", kwargs={"pk": ApplicationEntity.objects.get().pk}) not in (
        page
    )


def test_the_scheduler_may_not_register_change_or_deactivate(device: Device) -> None:
    ae = ae_create(ae_title="US_MAIN_03", device=device)
    client = editor(Role.SCHEDULER)

    assert client.get(LIST).status_code == 403
    assert client.post(ADD, form_data(ae_title="US_NEW_01")).status_code == 403
    assert (
        client.post(
            reverse("interfaces:ae_edit", kwargs={"pk": ae.pk}), form_data(host="10.9.9.9")
        ).status_code
        == 403
    )
    assert client.post(reverse("interfaces:ae_deactivate", kwargs={"pk": ae.pk})).status_code == 403
    assert client.post(POLICY, {"unknown_caller": "read_only"}).status_code == 403
    ae.refresh_from_db()
    assert (ae.host, ae.active) == ("", True)
    assert ApplicationEntity.objects.count() == 1
    assert not DicomPolicy.objects.filter(unknown_caller="read_only").exists()


def test_the_director_may_read_but_not_change_the_policy() -> None:
    client = editor(Role.DIRECTOR)

    assert client.get(LIST).status_code == 200
    assert client.post(POLICY, {"unknown_caller": "read_only"}).status_code == 403


def test_the_registry_page_runs_a_fixed_number_of_queries(
    device: Device, django_assert_max_num_queries: Any
) -> None:
    for n in range(8):
        ae_create(ae_title=f"CT_MAIN_{n:02d}", host=f"10.0.0.{n + 1}")
    ae_create(ae_title="US_MAIN_03", device=device)
    client = editor(Role.BIOMED)
    client.get(LIST)

    with django_assert_max_num_queries(12):
        assert client.get(LIST).status_code == 200
