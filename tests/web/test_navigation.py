from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from radflow.core.roles import Role
from radflow.web import context_processors
from radflow.web.context_processors import NavSection
from tests.conftest import client_for, make_user
from tests.web.html import current_section, nav_labels

pytestmark = pytest.mark.django_db


def home_nav(role: Role | None) -> list[str]:
    return nav_labels(client_for(make_user(role)).get(reverse("web:home")))


def test_biomed_engineer_sees_department_but_no_patients() -> None:
    labels = home_nav(Role.BIOMED)
    assert "Department" in labels
    assert "Patients" not in labels
    assert "Audit log" not in labels


def test_auditor_sees_the_audit_log() -> None:
    labels = home_nav(Role.AUDITOR)
    assert "Audit log" in labels
    assert "Patients" in labels
    assert "API tokens" not in labels
    assert "Admin" not in labels


def test_scheduler_sees_patients_and_payers_but_not_the_audit_log_or_staff() -> None:
    labels = home_nav(Role.SCHEDULER)
    assert labels[:2] == ["Today", "Front desk"]
    assert "Orders" in labels and "Patients" in labels
    assert "Coordinator" not in labels and "Reading" not in labels
    assert "Payers" in labels
    assert "Audit log" not in labels
    assert "Staff" not in labels


def test_coordinator_sees_the_sections_of_their_work_in_menu_order() -> None:
    assert home_nav(Role.COORDINATOR) == [
        "Today",
        "Coordinator",
        "Front desk",
        "STAT board",
        "Schedule board",
        "Waitlist",
        "Orders",
        "Pre-auth",
        "Patients",
        "Department",
        "Exam catalog",
        "Staff",
        "Roster",
        "My shifts",
        "Credentials",
        "Payers",
        "Infection control",
        "Contrast",
        "Supplies",
        "DICOM",
        "MPPS",
        "HL7 messages",
        "KPI dashboards",
        "KPI targets",
        "Monthly report",
        "Quality",
        "Report incident",
    ]


def test_administrator_sees_every_section_including_tokens_and_admin() -> None:
    labels = home_nav(Role.ADMIN)
    assert labels == [section.label for section in context_processors.NAVIGATION]


def test_user_without_a_role_sees_only_today() -> None:
    assert home_nav(None) == ["Today"]


def test_anonymous_visitor_gets_no_navigation(client: Client) -> None:
    assert nav_labels(client.get(reverse("accounts:login"))) == []


def test_the_current_section_is_marked() -> None:
    client = client_for(make_user(Role.COORDINATOR))
    assert current_section(client.get(reverse("web:home"))) == ["Today"]
    assert current_section(client.get(reverse("scheduling:overview"))) == ["Department"]
    assert current_section(client.get(reverse("scheduling:board"))) == ["Schedule board"]


def test_a_section_whose_url_does_not_exist_yet_is_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = make_user(Role.COORDINATOR)
    monkeypatch.setattr(
        context_processors,
        "NAVIGATION",
        (
            NavSection("Today", "web:home"),
            NavSection("Reports", "reports:monthly"),
        ),
    )
    request = RequestFactory().get("/")
    request.user = user
    links = context_processors.nav_links(request)
    assert [link.label for link in links] == ["Today"]


def test_header_shows_the_users_name_and_role() -> None:
    user = make_user(Role.TECHNOLOGIST)
    user.first_name, user.last_name = "Grace", "Okafor"
    user.save()
    page = client_for(user).get(reverse("web:home")).content.decode()
    assert "Grace Okafor" in page
    assert "Sonographer / technologist" in page
    assert 'action="/accounts/logout/"' in page


def test_biomed_engineer_does_not_see_the_schedule_board_or_the_waitlist() -> None:
    labels = home_nav(Role.BIOMED)
    assert "Schedule board" not in labels
    assert "Waitlist" not in labels


def test_technologist_sees_the_schedule_board_but_not_the_waitlist() -> None:
    labels = home_nav(Role.TECHNOLOGIST)
    assert "Schedule board" in labels
    assert "Waitlist" not in labels


def test_biomed_keeps_the_dicom_registry_and_the_front_desk_does_not_see_it() -> None:
    assert "DICOM" in home_nav(Role.BIOMED)
    assert "DICOM" in home_nav(Role.DIRECTOR)
    assert "DICOM" not in home_nav(Role.SCHEDULER)
    assert "DICOM" not in home_nav(Role.TECHNOLOGIST)


def test_the_kpi_dashboards_are_in_the_menu_of_those_who_read_kpis() -> None:
    assert "KPI dashboards" in home_nav(Role.COORDINATOR)
    assert "KPI dashboards" not in home_nav(Role.TECHNOLOGIST)
    assert "KPI dashboards" not in home_nav(Role.SCHEDULER)
    client = client_for(make_user(Role.DIRECTOR))
    assert "KPI dashboards" in nav_labels(client.get(reverse("web:home")))
    assert current_section(client.get(reverse("kpis:director"))) == ["KPI dashboards"]
    assert current_section(client.get(reverse("kpis:targets"))) == ["KPI targets"]
