"""The demo's year of the quality program: there, consistent with the services, and the same for
the same seed."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from radflow.demo import DemoContext, demo_generate
from radflow.exams import demo as exam_demo
from radflow.quality import demo as quality_demo
from radflow.quality.models import (
    AccessibilityRequest,
    AuditChecklist,
    AuditChecklistItem,
    AuditStatus,
    CorrectiveAction,
    Counter,
    DiscrepancyFollowUp,
    Feedback,
    ImageAudit,
    ImageAuditScore,
    Incident,
    IncidentStatus,
    PeerReview,
    QualitySettings,
    SampleDraw,
    SatisfactionImport,
    SatisfactionResponse,
)
from radflow.quality.services_audits import audit_sample_plan
from radflow.quality.services_peer import peer_review_plan

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)

#: Every quality table, children first, to run the step again on the same department.
TABLES = (
    DiscrepancyFollowUp,
    PeerReview,
    ImageAuditScore,
    ImageAudit,
    SampleDraw,
    AuditChecklistItem,
    AuditChecklist,
    CorrectiveAction,
    Incident,
    Feedback,
    SatisfactionResponse,
    SatisfactionImport,
    AccessibilityRequest,
    Counter,
    QualitySettings,
)


def snapshot() -> dict[str, Any]:
    return {
        "audits": sorted(
            ImageAudit.objects.values_list("month", "exam__accession_number", "status", "score_pct")
        ),
        "reviews": sorted(
            PeerReview.objects.values_list(
                "month", "exam__accession_number", "reviewer__employee_number", "score"
            )
        ),
        "incidents": list(
            Incident.objects.order_by("number").values_list(
                "number", "category", "severity", "status"
            )
        ),
        "feedback": list(
            Feedback.objects.order_by("number").values_list("number", "kind", "status")
        ),
        "survey": sorted(SatisfactionResponse.objects.values_list("response_id", "overall")),
        "access": AccessibilityRequest.objects.count(),
    }


def test_the_demo_holds_a_year_of_the_program_and_the_same_seed_gives_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exam_demo, "HISTORY_DAYS", 70)
    monkeypatch.setattr(exam_demo, "SCALE", 0.1)
    with transaction.atomic():
        demo_generate(seed=1, patients=200, today=TODAY)
        first = snapshot()

        assert AuditChecklist.objects.filter(active=True).exists()
        assert ImageAudit.objects.filter(status=AuditStatus.ACKNOWLEDGED).exists()
        assert ImageAudit.objects.filter(status=AuditStatus.PENDING).exists()
        assert PeerReview.objects.filter(status="completed").exists()
        assert Incident.objects.filter(status=IncidentStatus.CLOSED).exists()
        assert CorrectiveAction.objects.exists()
        assert Feedback.objects.filter(kind="compliment").exists()
        assert SatisfactionResponse.objects.count() > 1000
        assert first["access"] > 0
        # What the demo wrote is what the services draw: there is nothing left to add.
        for month in SampleDraw.objects.values_list("month", flat=True).distinct():
            assert audit_sample_plan(month=month).audits == []
            assert peer_review_plan(month=month).reviews == []

        for table in TABLES:
            table.objects.all().delete()
        ctx = DemoContext(seed=1, today=TODAY, patients_count=200)
        ctx.objects["users"] = {u.username: u for u in User.objects.all()}
        quality_demo.generate(ctx)

        assert snapshot() == first
        transaction.set_rollback(True)
