"""Patient satisfaction: the CSV import (all rows or none, every problem named) and the monthly
summary."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from radflow.core.errors import ValidationFailed
from radflow.quality.models import SatisfactionImport, SatisfactionResponse
from radflow.quality.selectors import satisfaction_by_month
from radflow.quality.services_satisfaction import ImportResult, satisfaction_import
from tests.conftest import client_for
from tests.scheduling.factories import ModalityFactory, SiteFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "response_id,survey_date,overall,recommend,wait_time,staff_courtesy,explanation,"
    "site,modality,accession_number,comment\n"
)
GOOD = HEADER + (
    "PG-1,2025-11-03,5,10,4,5,5,MAIN,US,,Quick and friendly.\n"
    "PG-2,2025-11-04,4,9,4,5,4,MAIN,US,,\n"
    'PG-3,2025-11-20,2,3,1,3,2,OIC,CT,,"Waited 50 minutes, nobody told me why."\n'
    "PG-4,2025-12-01,4,8,,,,,,,\n"
)


@pytest.fixture
def sites(db: None) -> None:
    SiteFactory.create(code="MAIN")
    SiteFactory.create(code="OIC")
    ModalityFactory.create(code="US")
    ModalityFactory.create(code="CT")


def import_text(text: str, **kwargs: Any) -> ImportResult:
    return satisfaction_import(
        by=None,
        filename="press-ganey.csv",
        content=text.encode(),
        **kwargs,
    )


def test_a_good_file_is_imported_and_summarised_per_month(sites: None) -> None:
    result = import_text(GOOD)

    assert (result.imported, result.skipped) == (4, 0)
    row = SatisfactionResponse.objects.get(response_id="PG-3")
    assert row.site.code == "OIC" and row.modality_id == "CT" and row.overall == 2  # type: ignore[union-attr]
    assert row.comment == "Waited 50 minutes, nobody told me why."
    november, december = satisfaction_by_month(start=dt.date(2025, 11, 1), end=dt.date(2025, 12, 1))
    assert november.responses == 3 and november.mean_overall == round(11 / 3, 2)
    # Promoters 10, 9; detractor 3: (2 - 1) / 3 = 33.3.
    assert (november.promoters, november.passives, november.detractors) == (2, 0, 1)
    assert november.nps == 33.3
    assert november.mean_wait_time == 3.0
    assert (december.responses, december.nps, december.mean_wait_time) == (1, 0.0, None)


def test_a_bad_file_imports_nothing_and_names_every_problem(sites: None) -> None:
    bad = HEADER + (
        "PG-1,2025-11-03,5,10,4,5,5,MAIN,US,,\n"
        "PG-2,03/11/2025,6,11,4,5,5,MAIN,US,,\n"
        "PG-1,2025-11-04,4,9,4,5,4,NOWHERE,XX,RF99999999,\n"
        ",2025-11-05,,9,,,,,,,\n"
    )

    with pytest.raises(ValidationFailed) as refused:
        import_text(bad)

    messages = refused.value.errors["file"]
    assert messages == [
        "Row 3: survey_date “03/11/2025” is not a date like 2026-02-03.",
        "Row 3: overall “6” is not a whole number from 1 to 5.",
        "Row 3: recommend “11” is not a whole number from 0 to 10.",
        "Row 4: response PG-1 appears again (first on row 2).",
        "Row 5: response_id is empty.",
        "Row 5: overall is empty.",
    ]
    assert not SatisfactionResponse.objects.exists() and not SatisfactionImport.objects.exists()


def test_unknown_sites_modalities_and_exams_are_named(sites: None) -> None:
    with pytest.raises(ValidationFailed) as refused:
        import_text(HEADER + "PG-9,2025-11-04,4,9,4,5,4,NOWHERE,XX,RF99999999,\n")
    assert refused.value.errors["file"] == [
        "Row 2: site “NOWHERE” is not a RadFlow site code.",
        "Row 2: modality “XX” is not a modality code.",
        "Row 2: no exam has accession number RF99999999.",
    ]


def test_a_wrong_header_is_refused_before_any_row_is_read(sites: None) -> None:
    with pytest.raises(ValidationFailed) as refused:
        import_text("response,survey_date,overal\nPG-1,2025-11-03,5\n")
    assert refused.value.errors["file"] == [
        "Missing columns: response_id, overall.",
        "Unknown columns: response, overal (the columns are response_id, survey_date, overall, "
        "recommend, wait_time, staff_courtesy, explanation, site, modality, accession_number, "
        "comment).",
    ]


def test_responses_already_imported_are_refused_unless_skipped(sites: None) -> None:
    import_text(GOOD)
    overlapping = HEADER + (
        "PG-4,2025-12-01,4,8,,,,,,,\nPG-5,2025-12-02,5,10,5,5,5,MAIN,US,,Great.\n"
    )

    with pytest.raises(ValidationFailed) as refused:
        import_text(overlapping)
    assert refused.value.errors["file"][0].startswith(
        "Row 2: response PG-4 was already imported (press-ganey.csv, "
    )
    assert SatisfactionResponse.objects.count() == 4

    result = import_text(overlapping, skip_known=True)
    assert (result.imported, result.skipped) == (1, 1)
    assert SatisfactionResponse.objects.count() == 5


def test_a_file_that_is_not_utf8_is_refused(sites: None) -> None:
    with pytest.raises(ValidationFailed) as refused:
        satisfaction_import(
            by=None,
            filename="x.csv",
            content=(HEADER + "PG-1,2025-11-03,5,,,,,,,,Très bien\n").encode("latin-1"),
        )
    assert "not UTF-8" in refused.value.errors["file"][0]


def test_the_import_page_shows_the_problems_and_imports_nothing(
    sites: None, coordinator: User
) -> None:
    upload = SimpleUploadedFile(
        "survey.csv", (HEADER + "PG-1,2025-13-40,5,,,,,,,,\n").encode(), "text/csv"
    )
    response = client_for(coordinator).post(
        reverse("quality:satisfaction_import"), {"file": upload}
    )

    assert response.status_code == 422
    text = response.content.decode()
    assert "The file was not imported." in text
    assert "Row 2: survey_date “2025-13-40” is not a date like 2026-02-03." in text
    assert not SatisfactionResponse.objects.exists()


def test_the_import_page_imports_a_good_file(sites: None, director: User) -> None:
    upload = SimpleUploadedFile("survey.csv", GOOD.encode(), "text/csv")
    client = client_for(director)
    response = client.post(reverse("quality:satisfaction_import"), {"file": upload})

    assert response.status_code == 302
    assert SatisfactionResponse.objects.count() == 4
    summary = client.get(reverse("quality:satisfaction")).content.decode()
    assert "survey.csv: 4 imported" in summary


def test_the_auditor_reads_results_but_cannot_import(sites: None, auditor: User) -> None:
    client = client_for(auditor)
    assert client.get(reverse("quality:satisfaction")).status_code == 200
    assert client.get(reverse("quality:satisfaction_import")).status_code == 403
