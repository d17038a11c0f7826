"""The quality pages as each role finds them: navigation, the overview, checklists, settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from radflow.quality.models import AuditChecklist, QualitySettings
from radflow.quality.rules import month_start, previous_month
from radflow.quality.services_audits import audit_sample_draw
from tests.conftest import client_for
from tests.quality.factories import checklist, exam_done, local, person, ultrasound_type

pytestmark = pytest.mark.django_db


def nav(user: User) -> str:
    page = client_for(user).get(reverse("web:home")).content.decode()
    return page[page.index('<nav class="main-nav"') : page.index("</nav>")]


def test_each_role_finds_its_quality_entries_in_the_menu(
    coordinator: User, technologist: User, radiologist: User, auditor: User
) -> None:
    assert ">Quality<" in nav(coordinator) and ">Report incident<" in nav(coordinator)
    sonographer = nav(technologist)
    assert ">My audits<" in sonographer and ">Report incident<" in sonographer
    assert ">Quality<" not in sonographer
    assert ">Peer review<" in nav(radiologist)
    assert ">Quality<" in nav(auditor) and ">Report incident<" not in nav(auditor)


def test_the_overview_shows_the_work_waiting_and_the_months(
    director: User,
    django_assert_max_num_queries: Any,
) -> None:
    checklist()
    last = previous_month(month_start(timezone.localdate()))
    for offset in range(3):
        exam_done(performer=person(), completed_at=local(last + dt.timedelta(days=offset)))
    audit_sample_draw(month=last)
    client = client_for(director)

    with django_assert_max_num_queries(60):
        response = client.get(reverse("quality:home"))

    text = response.content.decode()
    assert response.status_code == 200
    assert "Image audits to score" in text and '<p class="card-figure">3</p>' in text
    assert f"{last:%b %Y}" in text


def test_the_coordinator_builds_a_checklist_from_the_pages(coordinator: User) -> None:
    exam_type = ultrasound_type("us-thyroid", "US thyroid")
    client = client_for(coordinator)

    client.post(
        reverse("quality:checklist_new"),
        {"name": "Thyroid", "exam_type": str(exam_type.pk), "protocol": "", "active": "on"},
    )
    made = AuditChecklist.objects.get(name="Thyroid")
    client.post(
        reverse("quality:checklist_item_add", kwargs={"pk": made.pk}),
        {
            "category": "measurements",
            "label": "Nodules in three planes",
            "scoring": "ppf",
            "max_points": "2",
            "active": "on",
        },
    )

    assert made.modality_id == exam_type.modality_id
    assert list(made.items.values_list("label", "position")) == [("Nodules in three planes", 1)]
    page = client.get(reverse("quality:checklist_detail", kwargs={"pk": made.pk}))
    assert "Nodules in three planes" in page.content.decode()


def test_a_checklist_without_exam_type_or_modality_is_refused(coordinator: User) -> None:
    response = client_for(coordinator).post(
        reverse("quality:checklist_new"), {"name": "Nothing", "active": "on"}
    )
    assert response.status_code == 422
    assert "Choose the exam type, or a modality" in response.content.decode()
    assert not AuditChecklist.objects.exists()


def test_settings_are_saved_and_bad_values_refused(director: User) -> None:
    client = client_for(director)
    good = {
        "audit_sample_size": "8",
        "sample_seed": "2026-qa",
        "audit_pass_mark": "85",
        "peer_reviews_per_radiologist": "6",
        "peer_review_due_days": "14",
        "follow_up_due_days": "21",
        "complaint_response_working_days": "5",
    }
    assert client.post(reverse("quality:settings"), good).status_code == 302
    row = QualitySettings.objects.get()
    assert (row.audit_sample_size, row.sample_seed, row.follow_up_due_days) == (8, "2026-qa", 21)

    refused = client.post(reverse("quality:settings"), {**good, "audit_sample_size": "0"})
    assert refused.status_code == 422
    assert QualitySettings.objects.get().audit_sample_size == 8


def test_the_sonographer_is_refused_the_program_pages(technologist: User) -> None:
    client = client_for(technologist)
    for name in ("quality:home", "quality:audits", "quality:peer_reviews", "quality:feedback"):
        assert client.get(reverse(name)).status_code == 403, name
