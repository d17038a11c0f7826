from __future__ import annotations

import pytest
from django.urls import reverse

from tests.billing.factories import PayerFactory
from tests.catalog.factories import ExamTypeFactory
from tests.conftest import client_for
from tests.scheduling.factories import (
    DeviceFactory,
    ProbeFactory,
    RoomFactory,
    RoomOpeningHoursFactory,
)
from tests.staff.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url_name", "empty_text"),
    [
        ("scheduling:overview", "No sites yet"),
        ("scheduling:sites", "No sites yet."),
        ("scheduling:rooms", "No rooms match these filters."),
        ("scheduling:devices", "No devices match these filters."),
        ("scheduling:probes", "No probes match these filters."),
        ("catalog:exam_types", "No exam types match."),
        ("staff:list", "No staff match these filters."),
        ("billing:payers", "No payers match."),
    ],
)
def test_an_empty_department_says_so_on_every_list(admin_user, url_name, empty_text) -> None:
    response = client_for(admin_user).get(reverse(url_name))
    assert response.status_code == 200
    assert empty_text in response.content.decode()


@pytest.mark.parametrize(
    "model",
    [
        "scheduling/site",
        "scheduling/department",
        "scheduling/modality",
        "scheduling/roomcapability",
        "scheduling/room",
        "scheduling/roomopeninghours",
        "scheduling/device",
        "scheduling/probe",
        "catalog/examtype",
        "catalog/procedurecode",
        "catalog/competency",
        "catalog/screeningitem",
        "staff/staffmember",
        "billing/payer",
    ],
)
def test_the_admin_lists_every_department_model(admin_user, model) -> None:
    RoomOpeningHoursFactory.create()
    ProbeFactory.create(device=DeviceFactory.create())
    ExamTypeFactory.create()
    StaffMemberFactory.create()
    PayerFactory.create()
    response = client_for(admin_user).get(f"/admin/{model}/")
    assert response.status_code == 200


def test_the_admin_room_page_edits_opening_hours_inline_and_shows_history(admin_user) -> None:
    room = RoomFactory.create()
    client = client_for(admin_user)
    change = client.get(f"/admin/scheduling/room/{room.pk}/change/")
    assert "opening_hours-TOTAL_FORMS" in change.content.decode()
    history = client.get(f"/admin/scheduling/room/{room.pk}/history/")
    assert history.status_code == 200
