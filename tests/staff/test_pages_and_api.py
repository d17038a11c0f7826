from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from radflow.staff.models import JobRole
from tests.conftest import client_for
from tests.scheduling.factories import ModalityFactory, SiteFactory
from tests.scheduling.helpers import ApiClient, assert_problem
from tests.staff.factories import StaffMemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, Any]:
    us, mr = ModalityFactory.create(code="US"), ModalityFactory.create(code="MR")
    riverside, northgate = SiteFactory.create(code="RIV"), SiteFactory.create(code="NGT")
    return {
        "okafor": StaffMemberFactory.create(
            given_name="Adaeze",
            family_name="Okafor",
            employee_number="E100001",
            home_site=riverside,
            modalities=[us],
        ),
        "lindqvist": StaffMemberFactory.create(
            given_name="Erik",
            family_name="Lindqvist",
            job_role=JobRole.TECHNOLOGIST,
            home_site=northgate,
            modalities=[mr],
        ),
        "moreau": StaffMemberFactory.create(
            given_name="Claire",
            family_name="Moreau",
            job_role=JobRole.RADIOLOGIST,
            home_site=riverside,
            modalities=[us, mr],
        ),
        "riverside": riverside,
    }


def families(response) -> set[str]:
    return {member.family_name for member in response.context["page"].object_list}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "okafor"}, {"Okafor"}),
        ({"q": "claire moreau"}, {"Moreau"}),
        ({"q": "E100001"}, {"Okafor"}),
        ({"job_role": "technologist"}, {"Lindqvist"}),
        ({"modality": "MR"}, {"Lindqvist", "Moreau"}),
    ],
)
def test_a_coordinator_filters_the_staff_list(coordinator, people, query, expected) -> None:
    response = client_for(coordinator).get(reverse("staff:list"), query)
    assert response.status_code == 200
    assert families(response) == expected


def test_the_staff_list_filters_by_home_site(coordinator, people) -> None:
    site = people["riverside"]
    response = client_for(coordinator).get(reverse("staff:list"), {"site": str(site.pk)})
    assert families(response) == {"Okafor", "Moreau"}


def test_the_staff_page_shows_role_site_and_modalities(auditor, people) -> None:
    member = people["moreau"]
    response = client_for(auditor).get(reverse("staff:detail", args=[member.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Claire Moreau" in html
    assert "Radiologist" in html
    assert "MR Magnetic resonance" in html


def test_a_technologist_cannot_open_the_staff_directory(technologist, people) -> None:
    client = client_for(technologist)
    assert client.get(reverse("staff:list")).status_code == 403
    assert client.get(reverse("staff:detail", args=[people["okafor"].pk])).status_code == 403


def test_the_api_lists_and_shows_staff(coordinator, people) -> None:
    client = ApiClient(coordinator)
    data = json.loads(client.get("/api/staff/", {"modality": "US"}).content)
    assert data["count"] == 2
    assert {item["family_name"] for item in data["items"]} == {"Okafor", "Moreau"}
    member = people["moreau"]
    detail = json.loads(client.get(f"/api/staff/{member.pk}").content)
    assert sorted(detail["modalities"]) == ["MR", "US"]
    assert detail["job_role"] == "radiologist"
    assert detail["home_site"]["code"] == "RIV"


def test_the_api_refuses_a_technologist_and_a_missing_token(technologist) -> None:
    assert_problem(ApiClient(technologist).get("/api/staff/"), 403)
    assert_problem(ApiClient(None).get("/api/staff/"), 401)


def test_the_api_answers_404_for_an_unknown_person(coordinator) -> None:
    assert_problem(
        ApiClient(coordinator).get("/api/staff/9d1f0c1e-2222-4333-8444-555566667777"), 404
    )


def test_a_bad_job_role_filter_is_a_422_naming_it(coordinator) -> None:
    assert_problem(
        ApiClient(coordinator).get("/api/staff/", {"job_role": "pilot"}), 422, "job_role"
    )
