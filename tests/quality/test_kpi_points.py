"""The seam the KPI engine reads: quality measures per department day, with filters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from radflow.core.kpis import KpiFilters, QualityPoint
from radflow.quality.models import (
    AuditStatus,
    Feedback,
    ImageAudit,
    Incident,
    PeerReview,
    ReviewStatus,
    SatisfactionImport,
    SatisfactionResponse,
)
from radflow.quality.selectors import kpi_quality_points, quality_month_summary
from tests.quality.factories import checklist, exam_done, local, person
from tests.scheduling.factories import SiteFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2025, 10, 14)


def points(**filters: Any) -> dict[str, tuple[float, int]]:
    found = kpi_quality_points(start=DAY, end=DAY, filters=KpiFilters.of(**filters))
    assert all(isinstance(p, QualityPoint) and p.day == DAY for p in found)
    return {p.measure: (p.total, p.count) for p in found}


@pytest.fixture
def day_of_quality(db: None) -> dict[str, Any]:
    ana, ben = person(family_name="Alvarez"), person(family_name="Brown")
    reader, reviewer = person(), person()
    form = checklist()
    main = SiteFactory.create(code="MAIN")
    for performer, score in ((ana, "90.0"), (ben, "70.0")):
        exam = exam_done(performer=performer, completed_at=local(DAY - dt.timedelta(days=20)))
        ImageAudit.objects.create(
            exam=exam,
            performer=performer,
            month=DAY.replace(day=1),
            checklist=form,
            status=AuditStatus.SCORED,
            scored_at=local(DAY, 15),
            score_pct=Decimal(score),
        )
    for score in ("1", "1", "3b"):
        PeerReview.objects.create(
            exam=exam_done(
                performer=ana, completed_at=local(DAY - dt.timedelta(days=9)), reader=reader
            ),
            reader=reader,
            reviewer=reviewer,
            month=DAY.replace(day=1),
            assigned_at=local(DAY - dt.timedelta(days=3)),
            due_on=DAY,
            status=ReviewStatus.COMPLETED,
            score=score,
            completed_at=local(DAY, 11),
        )
    Incident.objects.create(
        number="INC-2025-0001",
        kind="near_miss",
        category="fall",
        severity="none",
        occurred_at=local(DAY, 9),
        reported_at=local(DAY, 10),
        description="Slip.",
        site=main,
    )
    for number, received, resolved in (
        ("FB-1", DAY, None),
        ("FB-2", DAY - dt.timedelta(days=4), DAY),
    ):
        Feedback.objects.create(
            number=number,
            kind="complaint",
            channel="phone",
            category="wait",
            received_on=received,
            summary="Waited.",
            resolved_on=resolved,
            status="resolved" if resolved else "open",
            staff_named=ben,
        )
    batch = SatisfactionImport.objects.create(
        filename="x.csv", sha256="0", imported_at=timezone.now()
    )
    for index, overall in enumerate((5, 3, 1)):
        SatisfactionResponse.objects.create(
            response_id=f"R{index}", survey_date=DAY, overall=overall, batch=batch, site=main
        )
    return {"ana": ana, "ben": ben, "reader": reader, "main": main}


def test_every_measure_of_the_day_is_there(day_of_quality: dict[str, Any]) -> None:
    assert points() == {
        "qa_score": (160.0, 2),
        "peer_review_discrepancy": (1.0, 3),
        "incidents": (1.0, 1),
        "complaints": (1.0, 1),
        "complaint_resolution_hours": (96.0, 1),
        "satisfaction": (150.0, 3),  # 100 + 50 + 0
    }


def test_the_staff_filter_narrows_audits_to_the_sonographer(day_of_quality: dict[str, Any]) -> None:
    found = points(staff=day_of_quality["ana"].pk, payers=[])
    assert found["qa_score"] == (90.0, 1)
    assert "complaints" not in found  # the complaint named Ben


def test_a_site_filter_keeps_what_happened_there(day_of_quality: dict[str, Any]) -> None:
    elsewhere = SiteFactory.create(code="OIC")
    assert "incidents" not in points(sites=elsewhere)
    assert points(sites=day_of_quality["main"])["satisfaction"] == (150.0, 3)


def test_the_month_summary_for_the_report_pack(day_of_quality: dict[str, Any]) -> None:
    summary = quality_month_summary(month=DAY, today=DAY + dt.timedelta(days=40))
    assert summary.incidents.near_misses == 1
    assert summary.complaints.complaints == 2 and summary.complaints.resolved == 1
    assert summary.satisfaction.responses == 3 and summary.satisfaction.mean_overall == 3.0
    assert summary.peer_review.completed == 3 and summary.peer_review.discrepancy_rate == 33.3
    # People in family-name order: Alvarez, then Brown.
    assert [p.mean_score for p in summary.qa_by_person] == [90.0, 70.0]
