"""The demo's contrast history: a dose for every contrast exam, issued from a lot in stock, each
cleared by the screen as it stood that day (or overridden), reactions that flag allergies."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from pytest_django import DjangoDbBlocker

from radflow.contrast import selectors
from radflow.contrast.demo import RATES
from radflow.contrast.models import AdverseEvent, ContrastAdministration, EgfrResult
from radflow.contrast.rules import AgentClass
from radflow.demo import demo_generate
from radflow.exams import demo as exam_demo
from radflow.exams.models import Exam, Override
from radflow.supplies.models import ItemCategory, MovementKind, StockMovement

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)  # a Monday


@pytest.fixture(scope="module", autouse=True)
def department(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch, django_db_blocker.unblock():
        patch.setattr(exam_demo, "HISTORY_DAYS", 42)
        patch.setattr(exam_demo, "SCALE", 0.12)
        with transaction.atomic():
            demo_generate(seed=1, patients=200, today=TODAY)
            yield
            transaction.set_rollback(True)


def performed_contrast_exams() -> list[Exam]:
    types = [
        pk
        for pk in Exam.objects.values_list("order__exam_type_id", flat=True).distinct()
        if pk is not None
    ]
    from radflow.catalog.models import ExamType

    taking = [t.pk for t in ExamType.objects.filter(pk__in=types) if selectors.requirement_for(t)]
    return list(
        Exam.objects.filter(order__exam_type_id__in=taking, in_progress_at__isnull=False)
        .exclude(state="discontinued")
        .select_related("order__exam_type", "order__patient")
    )


def test_every_performed_contrast_exam_has_its_dose_from_a_lot() -> None:
    exams = performed_contrast_exams()
    given = {a.exam_id: a for a in ContrastAdministration.objects.select_related("agent", "lot")}
    assert len(exams) >= 20
    assert {e.pk for e in exams} <= set(given)
    for exam in exams:
        dose = given[exam.pk]
        requirement = selectors.requirement_for(exam.order.exam_type)
        assert requirement is not None
        assert dose.agent.agent_class == requirement.agent_class, exam.accession_number
        assert dose.lot is not None and dose.stock_movement_id is not None
        assert dose.lot.expiry_date is None or dose.lot.expiry_date >= dose.given_at.date()
        assert exam.in_progress_at is not None and dose.given_at >= exam.in_progress_at


def test_each_dose_was_cleared_by_the_screen_of_its_day_or_overridden() -> None:
    for exam in performed_contrast_exams():
        assert exam.in_progress_at is not None
        screen = selectors.exam_screen(exam, on=timezone.localdate(exam.in_progress_at))
        overridden = Override.objects.filter(exam=exam, stop="contrast").exists()
        assert screen.problems == () or overridden, (exam.accession_number, screen.problems)


def test_contrast_stock_is_receipts_minus_issues_and_never_negative() -> None:
    rows = (
        StockMovement.objects.filter(item__category=ItemCategory.CONTRAST)
        .values("lot", "location", "kind")
        .annotate(total=Sum("quantity"))
    )
    balance: dict[tuple[object, object], Decimal] = defaultdict(Decimal)
    for row in rows:
        balance[(row["lot"], row["location"])] += row["total"]
    assert balance and all(total >= 0 for total in balance.values())
    issued = StockMovement.objects.filter(
        item__category=ItemCategory.CONTRAST, kind=MovementKind.EXAM_USE
    ).count()
    assert issued == ContrastAdministration.objects.count()


def test_reactions_flag_allergies_and_the_rates_are_the_published_ones() -> None:
    for event in AdverseEvent.objects.select_related("allergy", "administration__agent"):
        if event.kind == "allergic_like":
            assert event.allergy is not None
            assert event.administration.agent.name in event.allergy.substance
        else:
            assert event.allergy is None
    mild, moderate, severe, _, _ = RATES[AgentClass.IODINATED]
    assert 0.002 <= mild <= 0.006
    assert moderate < mild / 5 and severe < moderate


def test_egfr_results_come_from_intake_and_the_lab() -> None:
    sources = set(EgfrResult.objects.values_list("source", flat=True))
    assert sources == {"intake", "lab"}


def test_the_dashboard_reads_the_demo(django_assert_max_num_queries: Callable[..., Any]) -> None:
    with django_assert_max_num_queries(10):
        board = selectors.dashboard(on=TODAY)
    assert (
        board.overall.doses
        == ContrastAdministration.objects.filter(
            given_at__gte=datetime(2025, 4, 1, tzinfo=timezone.get_current_timezone())
        ).count()
    )
    assert board.by_agent
