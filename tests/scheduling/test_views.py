from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from radflow.core.roles import Role
from radflow.scheduling.models import DeviceKind, ProbeType, Room, RoomStatus
from tests.conftest import client_for
from tests.scheduling.factories import (
    DepartmentFactory,
    DeviceFactory,
    ModalityFactory,
    ProbeFactory,
    RoomCapabilityFactory,
    RoomFactory,
    RoomOpeningHoursFactory,
    SiteFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def department() -> dict[str, Any]:
    """Two sites: Riverside with two US rooms (one down) and a CT room; Northgate with one US."""
    us, ct = ModalityFactory.create(code="US"), ModalityFactory.create(code="CT")
    riverside = SiteFactory.create(
        name="Riverside Imaging Center", code="RIV", address="12 River Road\nSpringfield"
    )
    northgate = SiteFactory.create(name="Northgate Clinic", code="NGT", time_zone="America/Chicago")
    doppler = RoomCapabilityFactory.create(code="doppler", name="Doppler")
    us1 = RoomFactory.create(site=riverside, code="RIV-US1", name="Ultrasound 1", modality=us)
    us1.capabilities.set([doppler])
    us2 = RoomFactory.create(
        site=riverside,
        code="RIV-US2",
        name="Ultrasound 2",
        modality=us,
        status=RoomStatus.DOWN,
        status_note="Transducer cable damaged",
    )
    ct1 = RoomFactory.create(site=riverside, code="RIV-CT1", name="CT 1", modality=ct)
    ngt = RoomFactory.create(site=northgate, code="NGT-US1", name="Ultrasound A", modality=us)
    DepartmentFactory.create(site=riverside, name="Women's Imaging")
    return {"us1": us1, "us2": us2, "ct1": ct1, "ngt": ngt, "riverside": riverside}


def test_a_technologist_sees_the_overview_with_counts_and_the_room_that_is_down(
    technologist, department
) -> None:
    response = client_for(technologist).get(reverse("scheduling:overview"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Riverside Imaging Center" in html
    assert "Northgate Clinic" in html
    assert "Transducer cable damaged" in html
    riverside = next(
        entry for entry in response.context["overview"].sites if entry.site.code == "RIV"
    )
    us_row = next(row for row in riverside.rows if row.modality.code == "US")
    assert (us_row.in_service, us_row.down, us_row.maintenance) == (1, 1, 0)
    assert riverside.total == 3


def test_a_user_without_a_role_cannot_open_the_overview(stranger) -> None:
    assert client_for(stranger).get(reverse("scheduling:overview")).status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in() -> None:
    response = Client().get(reverse("scheduling:rooms"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_site_page_shows_address_time_zone_departments_and_rooms(scheduler, department) -> None:
    site = department["riverside"]
    response = client_for(scheduler).get(reverse("scheduling:site_detail", args=[site.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "12 River Road" in html
    assert "America/New_York" in html
    assert "Women&#x27;s Imaging" in html
    assert "RIV-CT1" in html
    assert "NGT-US1" not in html


def test_the_sites_list_shows_room_counts(scheduler, department) -> None:
    response = client_for(scheduler).get(reverse("scheduling:sites"))
    sites = {site.code: site for site in response.context["sites"]}
    assert sites["RIV"].room_count == 3
    assert sites["NGT"].room_count == 1
    assert "America/Chicago" in response.content.decode()


def test_an_unknown_site_is_a_404(scheduler) -> None:
    url = reverse("scheduling:site_detail", args=["7f1c9d1e-0000-4000-8000-000000000000"])
    assert client_for(scheduler).get(url).status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"modality": "CT"}, {"RIV-CT1"}),
        ({"status": "down"}, {"RIV-US2"}),
        ({"capability": "doppler"}, {"RIV-US1"}),
        ({"modality": "US", "status": "in_service"}, {"RIV-US1", "NGT-US1"}),
        ({"status": "not-a-status"}, {"RIV-US1", "RIV-US2", "RIV-CT1", "NGT-US1"}),
    ],
)
def test_the_rooms_list_filters(scheduler, department, query, expected) -> None:
    response = client_for(scheduler).get(reverse("scheduling:rooms"), query)
    assert response.status_code == 200
    assert {room.code for room in response.context["page"].object_list} == expected


def test_the_rooms_list_filters_by_site(scheduler, department) -> None:
    site = department["riverside"]
    response = client_for(scheduler).get(reverse("scheduling:rooms"), {"site": str(site.pk)})
    codes = {room.code for room in response.context["page"].object_list}
    assert codes == {"RIV-US1", "RIV-US2", "RIV-CT1"}


def test_the_rooms_list_pages_by_fifty_in_bounded_queries(
    scheduler, django_assert_max_num_queries
) -> None:
    site = SiteFactory.create()
    capabilities = [RoomCapabilityFactory.create(code=code) for code in ("doppler", "bariatric")]
    for n in range(60):
        room = RoomFactory.create(site=site, code=f"US-{n:03d}", name=f"Room {n}")
        room.capabilities.set(capabilities)
    client = client_for(scheduler)
    client.get(reverse("scheduling:rooms"))  # warm the session and caches
    with django_assert_max_num_queries(15):
        response = client.get(reverse("scheduling:rooms"))
    assert len(response.context["page"].object_list) == 50
    assert "Page 1 of 2" in response.content.decode()
    second = client.get(reverse("scheduling:rooms"), {"page": 2})
    assert len(second.context["page"].object_list) == 10


def test_the_room_page_shows_capabilities_hours_devices_and_history(
    technologist, department
) -> None:
    room = department["us1"]
    RoomOpeningHoursFactory.create(room=room, weekday=0, opens=datetime.time(7, 30))
    RoomOpeningHoursFactory.create(
        room=room, weekday=5, opens=datetime.time(8, 0), closes=datetime.time(12, 0)
    )
    DeviceFactory.create(
        room=room, manufacturer="Philips", model_name="EPIQ Elite", ae_title="EPIQ1"
    )
    response = client_for(technologist).get(reverse("scheduling:room_detail", args=[room.pk]))
    html = response.content.decode()
    assert "Doppler" in html
    week = {day.label: day.intervals for day in response.context["week"]}
    assert [str(i) for i in week["Monday"]] == ["Monday 07:30-17:00"]
    assert week["Sunday"] == []
    assert "08:00\u201312:00" in html
    assert "Closed" in html
    assert "Philips EPIQ Elite" in html
    assert "EPIQ1" in html
    assert len(response.context["status_history"]) == 1
    assert "Change status" not in html  # technologists cannot change it


def test_a_coordinator_sees_the_change_status_link(coordinator, department) -> None:
    room = department["us1"]
    response = client_for(coordinator).get(reverse("scheduling:room_detail", args=[room.pk]))
    assert reverse("scheduling:room_status", args=[room.pk]) in response.content.decode()


def test_a_scheduler_cannot_open_the_room_status_form(scheduler, department) -> None:
    url = reverse("scheduling:room_status", args=[department["us1"].pk])
    client = client_for(scheduler)
    assert client.get(url).status_code == 403
    assert client.post(url, {"status": "down", "note": "x"}).status_code == 403
    assert Room.objects.get(pk=department["us1"].pk).status == RoomStatus.IN_SERVICE


def test_the_status_form_shows_the_error_and_keeps_the_room_in_service(
    coordinator, department
) -> None:
    room = department["us1"]
    history_before = room.history.count()
    url = reverse("scheduling:room_status", args=[room.pk])
    response = client_for(coordinator).post(url, {"status": "maintenance", "note": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="form-errors" role="alert"' in html
    assert "a note is required" in html
    room.refresh_from_db()
    assert room.status == RoomStatus.IN_SERVICE
    assert room.history.count() == history_before


def test_the_status_form_saves_keeps_history_and_says_so(coordinator, department) -> None:
    room = department["us1"]
    client = client_for(coordinator)
    url = reverse("scheduling:room_status", args=[room.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"status": "down", "note": "Table motor fault, GE called"})
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:room_detail", args=[room.pk])
    client.post(url, {"status": "in_service", "note": ""})
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "Room RIV-US1 is now in service." in html
    room.refresh_from_db()
    assert room.status == RoomStatus.IN_SERVICE
    history = page.context["status_history"]
    assert [change.status for change in history] == ["in_service", "down", "in_service"]
    assert history[1].note == "Table motor fault, GE called"
    assert history[1].changed_by == coordinator.username


def test_the_status_form_works_with_htmx(biomed, department) -> None:
    room = department["ct1"]
    client = client_for(biomed)
    url = reverse("scheduling:room_status", args=[room.pk])
    bad = client.post(url, {"status": "down", "note": ""}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 200
    assert "<html" not in bad.content.decode()
    assert "a note is required" in bad.content.decode()
    good = client.post(url, {"status": "down", "note": "Tube arcing"}, HTTP_HX_REQUEST="true")
    assert good.status_code == 200
    assert good["HX-Redirect"] == reverse("scheduling:room_detail", args=[room.pk])
    room.refresh_from_db()
    assert (room.status, room.status_note) == (RoomStatus.DOWN, "Tube arcing")


def test_the_devices_list_filters_and_searches(user_for_role, department) -> None:
    client = client_for(user_for_role(Role.BIOMED))
    ct = ModalityFactory.create(code="CT")
    DeviceFactory.create(serial_number="SN-CT-1", ae_title="CT_RIV_1", modality=ct, kind="scanner")
    DeviceFactory.create(serial_number="SN-US-7", ae_title="US_RIV_7", room=department["us1"])
    url = reverse("scheduling:devices")

    def serials(query: dict[str, str]) -> set[str]:
        response = client.get(url, query)
        assert response.status_code == 200
        return {device.serial_number for device in response.context["page"].object_list}

    assert serials({"modality": "CT"}) == {"SN-CT-1"}
    assert serials({"q": "us_riv"}) == {"SN-US-7"}
    assert serials({"q": "SN-CT"}) == {"SN-CT-1"}
    assert serials({"site": str(department["riverside"].pk)}) == {"SN-US-7"}
    assert serials({"status": "retired"}) == set()


def test_the_device_page_lists_its_probes(technologist) -> None:
    device = DeviceFactory.create(manufacturer="GE HealthCare", model_name="LOGIQ E10")
    ProbeFactory.create(device=device, serial_number="ML6-15-0042", probe_type=ProbeType.LINEAR)
    ProbeFactory.create(
        device=device, serial_number="IC5-9-0007", probe_type=ProbeType.ENDOCAVITARY
    )
    response = client_for(technologist).get(reverse("scheduling:device_detail", args=[device.pk]))
    html = response.content.decode()
    assert "LOGIQ E10" in html
    assert "ML6-15-0042" in html
    assert "IC5-9-0007" in html
    assert "Semi-critical" in html


def test_the_probes_list_filters_by_type_and_spaulding_class(technologist) -> None:
    ProbeFactory.create(serial_number="L-1", probe_type=ProbeType.LINEAR)
    ProbeFactory.create(serial_number="E-1", probe_type=ProbeType.ENDOCAVITARY)
    ProbeFactory.create(serial_number="T-1", probe_type=ProbeType.TEE)
    client = client_for(technologist)
    url = reverse("scheduling:probes")
    by_type = client.get(url, {"probe_type": "tee"}).context["page"].object_list
    assert [probe.serial_number for probe in by_type] == ["T-1"]
    semi = client.get(url, {"spaulding_class": "semi_critical"}).context["page"].object_list
    assert {probe.serial_number for probe in semi} == {"E-1", "T-1"}


def test_a_scanner_without_probes_says_so(technologist) -> None:
    device = DeviceFactory.create(
        kind=DeviceKind.SCANNER, modality=ModalityFactory.create(code="CT")
    )
    response = client_for(technologist).get(reverse("scheduling:device_detail", args=[device.pk]))
    assert "No probes attached." in response.content.decode()
