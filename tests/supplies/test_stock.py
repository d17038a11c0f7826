"""The stock ledger: receiving, issuing, moving, discarding and counting, and what it refuses."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from radflow.audit.models import AppendOnlyError
from radflow.core.errors import ValidationFailed
from radflow.supplies import selectors, services
from radflow.supplies.models import MovementKind, StockMovement
from tests.supplies.factories import (
    ItemFactory,
    StoreFactory,
    level,
    lot,
    probe_covers,
    receive,
)

pytestmark = pytest.mark.django_db


def refused(field: str, text: str, call: object) -> None:
    """``call`` raises ValidationFailed naming ``field`` with ``text``, and writes nothing."""
    before = StockMovement.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        call()  # type: ignore[operator]
    assert field in caught.value.errors, caught.value.errors
    assert text in " ".join(caught.value.errors[field])
    assert StockMovement.objects.count() == before


def test_on_hand_is_receipts_minus_issues() -> None:
    gel, store = ItemFactory.create(), StoreFactory.create()
    receive(gel, store, 24)
    services.stock_issue(item=gel, location=store, quantity="2.5", by=None)
    assert selectors.on_hand(gel, store) == Decimal("21.5")


def test_on_hand_of_many_fractional_movements_is_exact_at_par() -> None:
    gel, store = ItemFactory.create(), StoreFactory.create()
    level(gel, store, par=2, reorder=1)
    for _ in range(20):
        receive(gel, store, "0.1")
    for _ in range(10):
        receive(gel, store, "0.7")
        services.stock_issue(item=gel, location=store, quantity="0.7", by=None)

    assert selectors.on_hand(gel, store) == Decimal("2.00")
    assert selectors.below_par() == []
    assert selectors.reorder_suggestions() == []


def test_issuing_more_than_is_on_hand_is_refused() -> None:
    gel, store = ItemFactory.create(), StoreFactory.create()
    receive(gel, store, 3)
    refused(
        "quantity",
        "Only 3 bottle",
        lambda: services.stock_issue(item=gel, location=store, quantity=4, by=None),
    )


@pytest.mark.parametrize("quantity", ["0", "-1", "abc", "1.005", "NaN"])
def test_a_quantity_that_is_not_a_positive_amount_is_refused(quantity: str) -> None:
    gel, store = ItemFactory.create(), StoreFactory.create()
    receive(gel, store, 3)
    refused(
        "quantity",
        "",
        lambda: services.stock_issue(item=gel, location=store, quantity=quantity, by=None),
    )


def test_a_lot_tracked_item_is_received_by_lot_and_issued_first_to_expire_first() -> None:
    covers, store = probe_covers(), StoreFactory.create()
    receive(covers, store, 10, lot_number="LATE", expires_in_days=400)
    receive(covers, store, 10, lot_number="SOON", expires_in_days=30)
    issued = services.stock_issue(item=covers, location=store, quantity=4, by=None)
    assert issued.lot is not None and issued.lot.lot_number == "SOON"
    assert selectors.on_hand(covers, store, lot(covers, "SOON")) == 6
    assert selectors.on_hand(covers, store) == 16


def test_a_lot_tracked_receipt_needs_its_lot_number() -> None:
    covers, store = probe_covers(), StoreFactory.create()
    refused(
        "lot_number",
        "lot-tracked",
        lambda: services.stock_receive(item=covers, location=store, quantity=5, by=None),
    )


def test_issuing_from_an_expired_lot_is_refused() -> None:
    covers, store = probe_covers(), StoreFactory.create()
    receive(covers, store, 10, lot_number="OLD", expires_in_days=5)
    old = lot(covers, "OLD")
    with time_machine.travel(timezone.now() + timedelta(days=6)):
        refused(
            "lot",
            "expired",
            lambda: services.stock_issue(item=covers, location=store, quantity=1, by=None, lot=old),
        )
        # Without a lot named, no usable lot is left either.
        refused(
            "lot",
            "No usable lot",
            lambda: services.stock_issue(item=covers, location=store, quantity=1, by=None),
        )


def test_a_lot_expiring_today_may_still_be_used_today() -> None:
    covers, store = probe_covers(), StoreFactory.create()
    receive(covers, store, 10, lot_number="TODAY", expires_in_days=0)
    moved = services.stock_issue(item=covers, location=store, quantity=1, by=None)
    assert moved.lot == lot(covers, "TODAY")


def test_issuing_from_a_recalled_lot_is_refused(coordinator: object) -> None:
    covers, store = probe_covers(), StoreFactory.create()
    receive(covers, store, 10, lot_number="BAD")
    bad = lot(covers, "BAD")
    services.lot_recall(lot=bad, by=coordinator, reason="Seal defect (FSN-2026-014)")  # type: ignore[arg-type]
    refused(
        "lot",
        "recalled",
        lambda: services.stock_issue(item=covers, location=store, quantity=1, by=None, lot=bad),
    )
    # ...and it cannot come back in through the door either.
    refused(
        "lot_number",
        "recalled",
        lambda: services.stock_receive(
            item=covers, location=store, quantity=1, by=None, lot_number="BAD"
        ),
    )


def test_recalled_stock_leaves_the_shelf_only_as_a_discard(coordinator: object) -> None:
    covers, store = probe_covers(), StoreFactory.create()
    receive(covers, store, 10, lot_number="BAD")
    bad = lot(covers, "BAD")
    services.lot_recall(lot=bad, by=coordinator, reason="Seal defect")  # type: ignore[arg-type]
    moved = services.stock_discard(
        item=covers, location=store, quantity=10, by=None, lot=bad, reason="Recalled"
    )
    assert moved.kind == MovementKind.DISCARD
    assert selectors.on_hand(covers, store) == 0


def test_a_lot_of_another_item_is_refused() -> None:
    covers, gel, store = probe_covers(), ItemFactory.create(), StoreFactory.create()
    receive(covers, store, 5, lot_number="C1")
    receive(gel, store, 5)
    refused(
        "lot",
        "is not a lot of",
        lambda: services.stock_issue(
            item=gel, location=store, quantity=1, by=None, lot=lot(covers, "C1")
        ),
    )


def test_a_transfer_moves_stock_between_locations_as_two_rows_of_one_group() -> None:
    gel, store, other = ItemFactory.create(), StoreFactory.create(), StoreFactory.create()
    receive(gel, store, 10)
    out, incoming = services.stock_transfer(
        item=gel, from_location=store, to_location=other, quantity=4, by=None
    )
    assert out.transfer_group == incoming.transfer_group is not None
    assert (selectors.on_hand(gel, store), selectors.on_hand(gel, other)) == (
        Decimal(6),
        Decimal(4),
    )


def test_a_count_posts_the_variance_and_keeps_what_was_expected() -> None:
    gel, store = ItemFactory.create(), StoreFactory.create()
    receive(gel, store, 12)
    count = services.cycle_count_record(
        location=store, by=None, lines=[services.CountInput(item=gel, counted=9)]
    )
    line = count.lines.get()
    assert (line.expected, line.counted, line.variance) == (Decimal(12), Decimal(9), Decimal(-3))
    assert selectors.on_hand(gel, store) == 9
    adjustment = StockMovement.objects.get(kind=MovementKind.COUNT_ADJUSTMENT)
    assert adjustment.quantity == -3 and adjustment.count_line == line


def test_a_count_that_matches_posts_nothing() -> None:
    gel, store = ItemFactory.create(), StoreFactory.create()
    receive(gel, store, 12)
    services.cycle_count_record(
        location=store, by=None, lines=[services.CountInput(item=gel, counted=12)]
    )
    assert not StockMovement.objects.filter(kind=MovementKind.COUNT_ADJUSTMENT).exists()


def test_a_lot_tracked_item_is_counted_per_lot() -> None:
    covers, store = probe_covers(), StoreFactory.create()
    receive(covers, store, 10, lot_number="C1")
    refused(
        "lines.0.lot",
        "count each lot",
        lambda: services.cycle_count_record(
            location=store, by=None, lines=[services.CountInput(item=covers, counted=10)]
        ),
    )


def test_ledger_rows_cannot_be_changed_or_deleted() -> None:
    gel, store = ItemFactory.create(), StoreFactory.create()
    row = receive(gel, store, 10)
    row.reason = "tampered"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
