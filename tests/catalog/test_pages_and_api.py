from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from radflow.catalog.selectors import exam_type_durations
from tests.catalog.factories import (
    CompetencyFactory,
    ExamTypeFactory,
    ProcedureCodeFactory,
    ScreeningItemFactory,
)
from tests.conftest import client_for
from tests.scheduling.factories import ModalityFactory, RoomCapabilityFactory
from tests.scheduling.helpers import ApiClient, assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog() -> dict[str, Any]:
    us, ct = ModalityFactory.create(code="US"), ModalityFactory.create(code="CT")
    carotid = ExamTypeFactory.create(
        code="us-carotid",
        name="Carotid duplex",
        modality=us,
        body_part="Neck",
        procedure_codes=[
            ProcedureCodeFactory.create(code="93880", description="Duplex scan carotid")
        ],
        default_duration_min=45,
        duration_inpatient_min=60,
        duration_portable_min=None,
        prep_instructions="No preparation needed.",
    )
    carotid.required_capabilities.set(
        [RoomCapabilityFactory.create(code="doppler", name="Doppler")]
    )
    carotid.required_competencies.set([CompetencyFactory.create(code="vascular", modality=us)])
    pelvis = ExamTypeFactory.create(
        code="us-pelvis-tv",
        name="Pelvis transvaginal",
        modality=us,
        procedure_codes=[ProcedureCodeFactory.create(code="76830", description="US transvaginal")],
        consent_required=True,
    )
    pelvis.required_screening.set([ScreeningItemFactory.create()])
    head = ExamTypeFactory.create(
        code="ct-head-contrast",
        name="CT head with contrast",
        modality=ct,
        contrast=True,
        procedure_codes=[
            ProcedureCodeFactory.create(code="70460", description="CT head w/ contrast")
        ],
    )
    return {"carotid": carotid, "pelvis": pelvis, "head": head}


def names(response) -> set[str]:
    return {exam_type.name for exam_type in response.context["page"].object_list}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "carotid"}, {"Carotid duplex"}),
        ({"q": "76830"}, {"Pelvis transvaginal"}),
        ({"q": "938"}, {"Carotid duplex"}),
        ({"modality": "CT"}, {"CT head with contrast"}),
        ({}, {"Carotid duplex", "Pelvis transvaginal", "CT head with contrast"}),
    ],
)
def test_the_catalog_is_searched_by_name_or_cpt_and_filtered_by_modality(
    technologist, catalog, query, expected
) -> None:
    response = client_for(technologist).get(reverse("catalog:exam_types"), query)
    assert response.status_code == 200
    assert names(response) == expected


def test_the_exam_type_page_shows_everything_the_booking_needs(scheduler, catalog) -> None:
    carotid = catalog["carotid"]
    response = client_for(scheduler).get(reverse("catalog:exam_type_detail", args=[carotid.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "93880" in html
    assert "Duplex scan carotid" in html
    assert "Doppler" in html
    assert "Vascular ultrasound" in html
    assert "No preparation needed." in html
    durations = {d.patient_class: d.minutes for d in response.context["durations"]}
    assert durations == {"outpatient": 45, "inpatient": 60, "portable": 45, "bariatric": 45}


def test_consent_and_screening_show_on_the_exam_type_page(scheduler, catalog) -> None:
    pelvis = catalog["pelvis"]
    html = (
        client_for(scheduler)
        .get(reverse("catalog:exam_type_detail", args=[pelvis.pk]))
        .content.decode()
    )
    assert "Is there any chance the patient is pregnant?" in html
    assert "Required" in html


def test_durations_mark_the_classes_that_fall_back_to_the_default(catalog) -> None:
    durations = {d.patient_class: d.is_default for d in exam_type_durations(catalog["carotid"])}
    assert durations["inpatient"] is False
    assert durations["portable"] is True


def test_a_user_without_a_role_cannot_read_the_catalog(stranger, catalog) -> None:
    assert client_for(stranger).get(reverse("catalog:exam_types")).status_code == 403


def test_an_unknown_exam_type_page_is_a_404(scheduler) -> None:
    url = reverse("catalog:exam_type_detail", args=["5e0c8a9b-1111-4222-8333-444455556666"])
    assert client_for(scheduler).get(url).status_code == 404


def test_the_catalog_list_pages_in_bounded_queries(
    technologist, django_assert_max_num_queries
) -> None:
    us = ModalityFactory.create(code="US")
    codes = [ProcedureCodeFactory.create(code=code) for code in ("76700", "76705")]
    for n in range(55):
        ExamTypeFactory.create(modality=us, procedure_codes=codes, name=f"US exam {n:02d}")
    client = client_for(technologist)
    client.get(reverse("catalog:exam_types"))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("catalog:exam_types"))
    assert len(response.context["page"].object_list) == 50
    assert "76705" in response.content.decode()


def test_the_api_lists_exam_types_filtered_by_cpt_modality_and_text(technologist, catalog) -> None:
    client = ApiClient(technologist)

    def listed(params: dict[str, str]) -> set[str]:
        response = client.get("/api/catalog/exam-types", params)
        assert response.status_code == 200
        return {item["code"] for item in json.loads(response.content)["items"]}

    assert listed({"cpt": "93880"}) == {"us-carotid"}
    assert listed({"modality": "CT"}) == {"ct-head-contrast"}
    assert listed({"q": "pelvis"}) == {"us-pelvis-tv"}
    assert listed({"modality": "US", "cpt": "70460"}) == set()


def test_the_api_shows_an_exam_type_with_its_requirements(technologist, catalog) -> None:
    carotid = catalog["carotid"]
    data = json.loads(ApiClient(technologist).get(f"/api/catalog/exam-types/{carotid.pk}").content)
    assert data["procedure_codes"] == [
        {"code": "93880", "system": "CPT", "description": "Duplex scan carotid"}
    ]
    assert data["durations"]["inpatient"] == 60
    assert data["required_capabilities"] == [{"code": "doppler", "name": "Doppler"}]
    assert data["required_competencies"][0]["code"] == "vascular"
    assert data["modality"] == "US"


def test_the_api_answers_404_and_401_and_403_as_problems(stranger) -> None:
    missing = "/api/catalog/exam-types/5e0c8a9b-1111-4222-8333-444455556666"
    assert_problem(ApiClient(None).get("/api/catalog/exam-types"), 401)
    assert_problem(ApiClient(stranger).get("/api/catalog/exam-types"), 403)
    assert_problem(ApiClient(stranger).get(missing), 403)


def test_an_unknown_exam_type_is_a_404_problem(technologist) -> None:
    missing = "/api/catalog/exam-types/5e0c8a9b-1111-4222-8333-444455556666"
    assert_problem(ApiClient(technologist).get(missing), 404)


def test_a_bad_limit_is_a_422_naming_limit(technologist) -> None:
    response = ApiClient(technologist).get("/api/catalog/exam-types", {"limit": "0"})
    assert_problem(response, 422, "limit")
