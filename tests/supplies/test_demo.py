"""The demo's supplies: a shelf per ultrasound room, a year of consistent stock, consumption on
every performed ultrasound exam, a recall with exposed exams, and something to reorder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from pytest_django import DjangoDbBlocker

from radflow.core.exam_states import ExamState
from radflow.demo import demo_generate
from radflow.exams import demo as exam_demo
from radflow.exams.models import Exam
from radflow.scheduling.models import Room, Site
from radflow.supplies import selectors
from radflow.supplies.models import (
    ExamSupplyRecord,
    Item,
    Lot,
    MovementKind,
    POStatus,
    PurchaseOrder,
    StockLocation,
    StockMovement,
)

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)
PERFORMED = [ExamState.COMPLETED, ExamState.REPORTED, ExamState.SIGNED, ExamState.BILLED]


@pytest.fixture(scope="module", autouse=True)
def department(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch, django_db_blocker.unblock():
        patch.setattr(exam_demo, "HISTORY_DAYS", 42)
        patch.setattr(exam_demo, "SCALE", 0.12)
        with transaction.atomic():
            demo_generate(seed=1, patients=200, today=TODAY)
            yield
            transaction.set_rollback(True)


def test_every_ultrasound_room_has_a_shelf_and_every_site_a_store() -> None:
    shelves = set(StockLocation.objects.filter(kind="room").values_list("room_id", flat=True))
    # (the contrast step adds shelves for CT and MR rooms)
    assert set(Room.objects.filter(modality_id="US").values_list("pk", flat=True)) <= shelves
    stores = set(StockLocation.objects.filter(kind="store").values_list("site_id", flat=True))
    assert stores == set(Site.objects.values_list("pk", flat=True))


def test_no_shelf_ever_holds_less_than_nothing() -> None:
    negative = (
        StockMovement.objects.values("item", "location", "lot")
        .annotate(total=Sum("quantity"))
        .filter(total__lt=0)
    )
    assert not negative.exists()


def test_every_performed_ultrasound_exam_drew_its_supplies() -> None:
    performed = Exam.objects.filter(room__modality_id="US", state__in=PERFORMED)
    assert performed.exists()
    recorded = ExamSupplyRecord.objects.filter(template_applied_at__isnull=False)
    assert set(recorded.values_list("exam_id", flat=True)) == set(
        performed.values_list("pk", flat=True)
    )
    assert StockMovement.objects.filter(kind=MovementKind.EXAM_USE, from_template=False).exists()


def test_the_recalled_lot_lists_exams_that_used_it_before_the_recall() -> None:
    recalled = Lot.objects.get(recalled_at__isnull=False)
    exposed = list(selectors.exams_using_lot(recalled))
    assert exposed
    assert all(exam.completed_at < recalled.recalled_at for exam in exposed)  # type: ignore[operator]
    on_shelves = StockMovement.objects.filter(lot=recalled).aggregate(t=Sum("quantity"))["t"]
    assert on_shelves == 0  # what was left was discarded


def test_the_dashboard_has_something_in_each_panel() -> None:
    assert selectors.reorder_suggestions(on=TODAY)
    assert selectors.expiring_lots(within_days=60, on=TODAY)
    assert selectors.consumption_vs_template(since=date(2026, 1, 1), until=TODAY)


def test_purchase_orders_arrive_mostly_in_full_within_a_week() -> None:
    assert PurchaseOrder.objects.filter(status=POStatus.RECEIVED).exists()
    for performance in selectors.vendor_performance():
        if performance.orders:
            assert Decimal("0.8") <= performance.fill_rate <= 1  # type: ignore[operator]
            assert performance.lead_time_days is not None and performance.lead_time_days <= 10


def test_no_template_charges_contrast() -> None:
    assert not Item.objects.filter(category="contrast", template_lines__isnull=False).exists()
