"""The director sets a department's own KPI targets; others read them; bad thresholds refused."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from radflow.core.kpis.types import KpiFilters, Status
from radflow.core.roles import Role
from radflow.kpis.models import KpiDefinition, KpiTarget
from radflow.kpis.selectors import kpi_definitions, kpi_values
from radflow.scheduling.models import Department
from tests.conftest import client_for, make_user
from tests.scheduling.factories import DepartmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def director(db: None) -> User:
    return make_user(Role.DIRECTOR)


@pytest.fixture
def department(db: None) -> Department:
    return DepartmentFactory.create(name="Women's Health Imaging")


def test_the_definitions_are_seeded_as_documented_data() -> None:
    no_show = KpiDefinition.objects.get(code="no_show_rate")
    assert (no_show.unit, no_show.direction, no_show.target, no_show.amber, no_show.red) == (
        "%", "lower", 5.0, 6.0, 8.0)  # fmt: skip
    assert "appointments due" in no_show.formula
    cadth = KpiDefinition.objects.get(code="exams_per_8h")
    assert cadth.reference_value == 11.25 and "CADTH" in cadth.reference_label
    assert KpiDefinition.objects.count() == 27


def test_the_director_sets_a_departments_no_show_target(
    director: User, department: Department
) -> None:
    client = client_for(director)
    url = f"/kpis/targets/{department.pk}/"
    page = client.get(url, {"kpi": "no_show_rate"})
    assert page.status_code == 200 and "No-show rate" in page.content.decode()

    response = client.post(url, {"kpi": "no_show_rate", "target": "4", "amber": "5", "red": "7"})

    assert response.status_code == 302
    assert response["Location"] == f"/kpis/targets/?department={department.pk}"
    view = {v.code: v for v in kpi_definitions(department=department)}["no_show_rate"]
    assert (view.target, view.amber, view.red, view.customised) == (4.0, 5.0, 7.0, True)
    default = {v.code: v for v in kpi_definitions()}["no_show_rate"]
    assert (default.target, default.customised) == (5.0, False)
    listing = client.get("/kpis/targets/", {"department": str(department.pk)}).content.decode()
    assert "Women&#x27;s Health Imaging" in listing


def test_thresholds_out_of_order_are_refused_and_nothing_changes(
    director: User, department: Department
) -> None:
    response = client_for(director).post(
        f"/kpis/targets/{department.pk}/",
        {"kpi": "completion_rate", "target": "90", "amber": "95", "red": "80"},
    )
    assert response.status_code == 400
    assert "must not be below the amber threshold" in response.content.decode()
    assert not KpiTarget.objects.exists()


def test_an_empty_target_form_is_refused(director: User, department: Department) -> None:
    response = client_for(director).post(f"/kpis/targets/{department.pk}/", {"kpi": "tat_wait"})
    assert response.status_code == 400
    assert "Enter a target or a threshold" in response.content.decode()


def test_a_reset_brings_back_the_default(director: User, department: Department) -> None:
    definition = KpiDefinition.objects.get(code="tat_wait")
    KpiTarget.objects.create(definition=definition, department=department, target=10, amber=12)
    response = client_for(director).post(
        f"/kpis/targets/{department.pk}/reset/", {"kpi": "tat_wait"}
    )
    assert response.status_code == 302
    assert not KpiTarget.objects.exists()


def test_a_coordinator_reads_the_targets_but_may_not_change_them(
    coordinator: User, department: Department
) -> None:
    client = client_for(coordinator)
    page = client.get("/kpis/targets/")
    assert page.status_code == 200
    assert "Third next available appointment" in page.content.decode()
    refused = client.post(f"/kpis/targets/{department.pk}/", {"kpi": "tat_wait", "target": "1"})
    assert refused.status_code == 403
    assert not KpiTarget.objects.exists()


def test_a_sites_department_targets_colour_its_tiles(department: Department) -> None:
    KpiTarget.objects.create(
        definition=KpiDefinition.objects.get(code="no_show_rate"),
        department=department,
        target=0.0,
        amber=0.0,
        red=0.0,
    )
    from datetime import date

    site_only = KpiFilters.of(sites=department.site)
    (mine,) = kpi_values(start=date(2026, 1, 1), end=date(2026, 1, 31), filters=site_only,
                         codes=["no_show_rate"])  # fmt: skip
    assert (mine.target, mine.red) == (0.0, 0.0)
    assert mine.status is Status.NONE  # no appointments: no value, no colour
