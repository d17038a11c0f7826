from __future__ import annotations

import json
from typing import Any

import pytest

from radflow.scheduling.models import Device, Probe, RoomStatus
from tests.scheduling.factories import (
    DeviceFactory,
    ModalityFactory,
    ProbeFactory,
    RoomCapabilityFactory,
    RoomFactory,
    RoomOpeningHoursFactory,
    SiteFactory,
)
from tests.scheduling.helpers import ApiClient, assert_problem

pytestmark = pytest.mark.django_db

UNKNOWN_ID = "0b6a4c52-3d7e-4f0e-9a51-6d2f2f0c9e11"


def body(response: Any) -> Any:
    return json.loads(response.content)


@pytest.fixture
def rooms() -> dict[str, Any]:
    us, ct = ModalityFactory.create(code="US"), ModalityFactory.create(code="CT")
    riverside = SiteFactory.create(code="RIV", name="Riverside Imaging Center")
    northgate = SiteFactory.create(code="NGT", name="Northgate Clinic")
    us1 = RoomFactory.create(site=riverside, code="RIV-US1", modality=us)
    us1.capabilities.set([RoomCapabilityFactory.create(code="doppler")])
    return {
        "us1": us1,
        "ct1": RoomFactory.create(site=riverside, code="RIV-CT1", modality=ct),
        "ngt": RoomFactory.create(
            site=northgate, code="NGT-US1", modality=us, status=RoomStatus.MAINTENANCE
        ),
    }


def test_the_api_refuses_a_request_without_a_token() -> None:
    assert_problem(ApiClient(None).get("/api/department/sites"), 401)


def test_a_user_without_a_role_gets_a_403_problem(stranger) -> None:
    assert_problem(ApiClient(stranger).get("/api/department/rooms"), 403)


def test_sites_are_listed_with_limit_and_offset(technologist, rooms) -> None:
    client = ApiClient(technologist)
    page = body(client.get("/api/department/sites", {"limit": 1}))
    assert page["count"] == 2
    assert [site["code"] for site in page["items"]] == ["NGT"]
    second = body(client.get("/api/department/sites", {"limit": 1, "offset": 1}))
    assert [site["code"] for site in second["items"]] == ["RIV"]


def test_a_site_shows_its_rooms(technologist, rooms) -> None:
    site = rooms["us1"].site
    data = body(ApiClient(technologist).get(f"/api/department/sites/{site.pk}"))
    assert data["id"] == str(site.pk)
    assert {room["code"] for room in data["rooms"]} == {"RIV-US1", "RIV-CT1"}


def test_an_unknown_site_is_a_404_problem(technologist) -> None:
    assert_problem(ApiClient(technologist).get(f"/api/department/sites/{UNKNOWN_ID}"), 404)


def test_a_malformed_id_is_a_422_problem_naming_it(technologist) -> None:
    response = ApiClient(technologist).get("/api/department/rooms/not-a-uuid")
    assert_problem(response, 422, "room_id")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"modality": "US"}, {"RIV-US1", "NGT-US1"}),
        ({"status": "maintenance"}, {"NGT-US1"}),
        ({"capability": "doppler"}, {"RIV-US1"}),
    ],
)
def test_rooms_are_filtered(technologist, rooms, params, expected) -> None:
    data = body(ApiClient(technologist).get("/api/department/rooms", params))
    assert {room["code"] for room in data["items"]} == expected
    assert data["count"] == len(expected)


def test_rooms_are_filtered_by_site(technologist, rooms) -> None:
    site = rooms["ngt"].site
    data = body(ApiClient(technologist).get("/api/department/rooms", {"site": str(site.pk)}))
    assert [room["code"] for room in data["items"]] == ["NGT-US1"]


def test_a_bad_status_filter_is_a_422_naming_status(technologist) -> None:
    response = ApiClient(technologist).get("/api/department/rooms", {"status": "closed"})
    assert_problem(response, 422, "status")


def test_a_room_shows_hours_capabilities_and_devices(technologist, rooms) -> None:
    room = rooms["us1"]
    RoomOpeningHoursFactory.create(room=room, weekday=2)
    DeviceFactory.create(room=room, ae_title="US_RIV_1")
    data = body(ApiClient(technologist).get(f"/api/department/rooms/{room.pk}"))
    assert data["capabilities"] == ["doppler"]
    assert data["site"]["code"] == "RIV"
    assert data["modality"] == "US"
    assert data["opening_hours"] == [{"weekday": 2, "opens": "07:30:00", "closes": "17:00:00"}]
    assert [device["ae_title"] for device in data["devices"]] == ["US_RIV_1"]


def test_biomed_sets_a_room_down_through_the_api(biomed, rooms) -> None:
    room = rooms["ct1"]
    response = ApiClient(biomed).patch(
        f"/api/department/rooms/{room.pk}/status",
        {"status": "down", "note": "Gantry error E-412"},
    )
    assert response.status_code == 200, response.content
    assert body(response)["status"] == "down"
    room.refresh_from_db()
    assert room.status_note == "Gantry error E-412"
    assert room.history.latest().history_user == biomed


def test_setting_a_room_down_without_a_note_is_a_422_naming_note(biomed, rooms) -> None:
    room = rooms["ct1"]
    response = ApiClient(biomed).patch(
        f"/api/department/rooms/{room.pk}/status", {"status": "down"}
    )
    assert_problem(response, 422, "note")
    room.refresh_from_db()
    assert room.status == RoomStatus.IN_SERVICE


def test_a_scheduler_may_not_change_room_status(scheduler, rooms) -> None:
    room = rooms["ct1"]
    response = ApiClient(scheduler).patch(
        f"/api/department/rooms/{room.pk}/status", {"status": "down", "note": "x"}
    )
    assert_problem(response, 403)
    room.refresh_from_db()
    assert room.status == RoomStatus.IN_SERVICE


def test_changing_the_status_of_an_unknown_room_is_a_404(biomed) -> None:
    response = ApiClient(biomed).patch(
        f"/api/department/rooms/{UNKNOWN_ID}/status", {"status": "in_service"}
    )
    assert_problem(response, 404)


def test_devices_are_listed_searched_and_shown_with_probes(technologist) -> None:
    ct = ModalityFactory.create(code="CT")
    DeviceFactory.create(modality=ct, kind="scanner", serial_number="CT-55501", ae_title="CT_MAIN")
    us = DeviceFactory.create(serial_number="US-1200", ae_title="US_ER_1")
    ProbeFactory.create(device=us, serial_number="C1-6-991")
    client = ApiClient(technologist)
    assert body(client.get("/api/department/devices", {"modality": "CT"}))["count"] == 1
    found = body(client.get("/api/department/devices", {"q": "us_er"}))["items"]
    assert [device["serial_number"] for device in found] == ["US-1200"]
    detail = body(client.get(f"/api/department/devices/{us.pk}"))
    assert [probe["serial_number"] for probe in detail["probes"]] == ["C1-6-991"]
    assert_problem(client.get(f"/api/department/devices/{UNKNOWN_ID}"), 404)


def _device_body(**overrides: object) -> dict[str, Any]:
    data: dict[str, object] = {
        "kind": "ultrasound",
        "modality": "US",
        "manufacturer": "Canon",
        "model_name": "Aplio i800",
        "serial_number": "AP8-20931",
        "ae_title": "APLIO_3",
    }
    data.update(overrides)
    return data


def test_biomed_registers_a_device_in_a_room(biomed, rooms) -> None:
    room = rooms["us1"]
    response = ApiClient(biomed).post("/api/department/devices", _device_body(room=str(room.pk)))
    assert response.status_code == 201, response.content
    data = body(response)
    assert data["room"] == str(room.pk)
    assert Device.objects.get(pk=data["id"]).ae_title == "APLIO_3"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ae_title": "APLIO\\3"}, "ae_title"),
        ({"ae_title": "A" * 17}, "ae_title"),
        ({"modality": "XX"}, "modality"),
        ({"kind": "toaster"}, "kind"),
        ({"serial_number": ""}, "serial_number"),
        ({"room": UNKNOWN_ID}, "room"),
    ],
)
def test_a_bad_device_is_a_422_naming_the_field(biomed, overrides, field) -> None:
    ModalityFactory.create(code="US")
    response = ApiClient(biomed).post("/api/department/devices", _device_body(**overrides))
    assert_problem(response, 422, field)
    assert not Device.objects.exists()


def test_a_device_for_a_room_of_another_modality_is_refused(biomed, rooms) -> None:
    response = ApiClient(biomed).post(
        "/api/department/devices", _device_body(room=str(rooms["ct1"].pk))
    )
    assert_problem(response, 422, "room")


def test_a_duplicate_serial_number_is_refused(biomed) -> None:
    DeviceFactory.create(manufacturer="Canon", serial_number="AP8-20931", ae_title="OLD")
    response = ApiClient(biomed).post("/api/department/devices", _device_body())
    assert_problem(response, 422, "serial_number")


def test_a_technologist_may_not_register_devices(technologist) -> None:
    ModalityFactory.create(code="US")
    assert_problem(ApiClient(technologist).post("/api/department/devices", _device_body()), 403)


def test_a_probe_is_registered_with_the_default_spaulding_class(biomed) -> None:
    device = DeviceFactory.create()
    response = ApiClient(biomed).post(
        "/api/department/probes",
        {
            "serial_number": "IC5-9-4410",
            "manufacturer": "GE HealthCare",
            "model_name": "IC5-9",
            "probe_type": "endocavitary",
            "device": str(device.pk),
        },
    )
    assert response.status_code == 201, response.content
    assert body(response)["spaulding_class"] == "semi_critical"
    assert body(response)["device"] == str(device.pk)


def test_a_non_critical_tee_probe_is_a_422_naming_the_class(biomed) -> None:
    response = ApiClient(biomed).post(
        "/api/department/probes",
        {
            "serial_number": "6VT-D-0101",
            "manufacturer": "GE HealthCare",
            "model_name": "6VT-D",
            "probe_type": "tee",
            "spaulding_class": "non_critical",
        },
    )
    assert_problem(response, 422, "spaulding_class")
    assert not Probe.objects.exists()


def test_probes_are_filtered_by_type_and_class(technologist) -> None:
    ProbeFactory.create(serial_number="L-1", probe_type="linear")
    ProbeFactory.create(serial_number="E-1", probe_type="endocavitary")
    client = ApiClient(technologist)
    data = body(client.get("/api/department/probes", {"spaulding_class": "semi_critical"}))
    assert [probe["serial_number"] for probe in data["items"]] == ["E-1"]
    data = body(client.get("/api/department/probes", {"probe_type": "linear"}))
    assert [probe["serial_number"] for probe in data["items"]] == ["L-1"]


def test_modalities_are_listed(technologist) -> None:
    ModalityFactory.create(code="US")
    ModalityFactory.create(code="CT")
    data = body(ApiClient(technologist).get("/api/department/modalities"))
    assert [modality["code"] for modality in data] == ["CT", "US"]
    assert data[0]["ionizing"] is True
