from __future__ import annotations

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from radflow.core.roles import Role
from radflow.scheduling.models import Modality, Room, RoomStatus, Site
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db


def home_page(role: Role | None) -> str:
    response = client_for(make_user(role)).get(reverse("web:home"))
    assert response.status_code == 200
    return response.content.decode()


def make_rooms() -> None:
    site = Site.objects.create(name="Riverside Imaging Center", code="RIC")
    us, _ = Modality.objects.get_or_create(code="US", defaults={"name": "Ultrasound"})
    for code, status in [
        ("US1", RoomStatus.IN_SERVICE),
        ("US2", RoomStatus.IN_SERVICE),
        ("US3", RoomStatus.DOWN),
        ("US4", RoomStatus.MAINTENANCE),
        ("US5", RoomStatus.MAINTENANCE),
    ]:
        Room.objects.create(
            site=site, name=f"Ultrasound {code[-1]}", code=code, modality=us, status=status
        )


def test_anonymous_visitor_is_sent_to_the_login_page(client: Client) -> None:
    response = client.get(reverse("web:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_coordinator_sees_department_status_with_rooms_down_and_in_maintenance() -> None:
    make_rooms()
    page = home_page(Role.COORDINATOR)
    assert "Your work as Coordinator" in page
    assert "1 down" in page
    assert "2 in maintenance" in page
    assert "of 5 rooms out of service" in page
    assert "Find a patient" in page
    assert "Exam catalog" in page


def test_scheduler_sees_patient_search_and_registration() -> None:
    page = home_page(Role.SCHEDULER)
    assert "Your work as Scheduler (front desk)" in page
    assert "Find a patient" in page
    assert "Register a patient" in page
    assert "Patient record access log" not in page


def test_technologist_sees_rooms_and_probes() -> None:
    page = home_page(Role.TECHNOLOGIST)
    assert "Rooms" in page
    assert "Ultrasound probes" in page
    assert "Register a patient" not in page


def test_biomed_engineer_sees_devices_and_no_patient_search() -> None:
    page = home_page(Role.BIOMED)
    assert "Scanners and devices" in page
    assert "Find a patient" not in page


def test_auditor_sees_the_access_log_and_chain_status_cards() -> None:
    page = home_page(Role.AUDITOR)
    assert "Patient record access log" in page
    assert "Log integrity" in page
    assert "Register a patient" not in page


def test_director_sees_the_staff_count() -> None:
    page = home_page(Role.DIRECTOR)
    assert "active staff members" in page


def test_administrator_sees_tokens_and_admin_site() -> None:
    page = home_page(Role.ADMIN)
    assert reverse("accounts:tokens") in page
    assert reverse("admin:index") in page


def test_user_with_every_card_set_sees_each_role_once() -> None:
    user = make_user(Role.COORDINATOR)
    user.groups.add(*make_user(Role.AUDITOR).groups.all())
    page = client_for(user).get(reverse("web:home")).content.decode()
    assert page.count("Your work as Coordinator") == 1
    assert page.count("Your work as Auditor (read only)") == 1


def test_user_without_a_role_is_told_to_ask_an_administrator() -> None:
    page = home_page(None)
    assert "Your account has no role yet; ask an administrator" in page
    assert "Your work as" not in page


@time_machine.travel("2025-03-09T03:30:00+00:00", tick=False)
def test_the_date_is_the_departments_not_utc() -> None:
    # 03:30 UTC on 9 March is still the evening of 8 March in New York.
    page = home_page(Role.SCHEDULER)
    assert "Saturday 8 March 2025" in page
    assert "Good evening" in page


def test_every_role_has_a_card_template_that_renders() -> None:
    for role in Role:
        page = client_for(make_user(role, f"cards_{role.value}")).get(reverse("web:home"))
        assert page.status_code == 200
        assert f"Your work as {role.label}" in page.content.decode()
