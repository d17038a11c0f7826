"""Purchase orders: drafts, sending, receiving in parts, closing short; vendor performance."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import User
from django.utils import timezone

from radflow.core.errors import ValidationFailed
from radflow.supplies import purchasing, selectors
from radflow.supplies.models import POStatus, PurchaseOrder
from tests.supplies.factories import ItemFactory, StoreFactory, VendorFactory, lot, probe_covers

pytestmark = pytest.mark.django_db


def order(by: User, *lines: tuple[object, int]) -> PurchaseOrder:
    vendor = lines[0][0].vendor  # type: ignore[attr-defined]
    return purchasing.po_create(
        vendor=vendor,
        deliver_to=StoreFactory.create(),
        lines=[purchasing.LineInput(item=item, quantity=qty) for item, qty in lines],  # type: ignore[arg-type]
        by=by,
    )


def receive(po: PurchaseOrder, by: User, *lines: tuple[int, int, str]) -> None:
    by_item = {line.item_id: line for line in po.lines.all()}
    items = list(by_item)
    purchasing.po_receive(
        po=po,
        by=by,
        lines=[
            purchasing.ReceiptInput(
                line=by_item[items[index]],
                quantity=qty,
                lot_number=number,
                expiry_date=timezone.localdate() + timedelta(days=400) if number else None,
            )
            for index, qty, number in lines
        ],
    )


def test_a_po_is_numbered_by_year_and_priced_from_the_item(coordinator: User) -> None:
    gel = ItemFactory.create(unit_price=Decimal("2.10"))
    with time_machine.travel(date(2026, 3, 2)):
        first = order(coordinator, (gel, 24))
        second = order(coordinator, (gel, 12))
    assert (first.number, second.number) == ("PO-2026-00001", "PO-2026-00002")
    assert first.status == POStatus.DRAFT
    assert first.lines.get().unit_price == Decimal("2.10")


def test_an_item_of_another_vendor_is_refused(coordinator: User) -> None:
    gel, wipes = ItemFactory.create(), ItemFactory.create(vendor=VendorFactory.create())
    with pytest.raises(ValidationFailed) as caught:
        purchasing.po_create(
            vendor=gel.vendor,
            deliver_to=StoreFactory.create(),
            lines=[purchasing.LineInput(item=wipes, quantity=1)],
            by=coordinator,
        )
    assert "lines.0.item" in caught.value.errors
    assert not PurchaseOrder.objects.exists()


def test_partial_receipts_then_the_rest(coordinator: User) -> None:
    gel = ItemFactory.create()
    covers = probe_covers(vendor=gel.vendor)
    po = order(coordinator, (gel, 24), (covers, 100))
    purchasing.po_send(po=po, by=coordinator)
    receive(po, coordinator, (0, 24, ""), (1, 40, "C-2201"))
    po.refresh_from_db()
    assert po.status == POStatus.PARTIAL
    assert selectors.on_hand(covers, po.deliver_to, lot(covers, "C-2201")) == 40
    receive(po, coordinator, (1, 60, "C-2202"))
    po.refresh_from_db()
    assert po.status == POStatus.RECEIVED and po.closed_at is not None


def test_receiving_more_than_is_outstanding_is_refused(coordinator: User) -> None:
    gel = ItemFactory.create()
    po = order(coordinator, (gel, 10))
    purchasing.po_send(po=po, by=coordinator)
    line = po.lines.get()
    with pytest.raises(ValidationFailed) as caught:
        purchasing.po_receive(
            po=po, by=coordinator, lines=[purchasing.ReceiptInput(line=line, quantity=11)]
        )
    assert "Only 10 bottle" in caught.value.errors[f"line-{line.pk}-quantity"][0]
    assert selectors.on_hand(gel, po.deliver_to) == 0


def test_a_draft_cannot_be_received(coordinator: User) -> None:
    gel = ItemFactory.create()
    po = order(coordinator, (gel, 10))
    with pytest.raises(ValidationFailed):
        purchasing.po_receive(
            po=po, by=coordinator, lines=[purchasing.ReceiptInput(line=po.lines.get(), quantity=1)]
        )


def test_fill_rate_and_lead_time_come_from_what_arrived_and_when(coordinator: User) -> None:
    gel = ItemFactory.create()
    with time_machine.travel(date(2026, 2, 2)):
        po = order(coordinator, (gel, 100))
        purchasing.po_send(po=po, by=coordinator)
    with time_machine.travel(date(2026, 2, 6)):  # four days later, 80 of 100
        receive(po, coordinator, (0, 80, ""))
    with time_machine.travel(date(2026, 2, 20)):
        purchasing.po_close_short(po=po, by=coordinator, reason="Back-ordered, discontinued")
    with time_machine.travel(date(2026, 2, 9)):
        other = order(coordinator, (gel, 50))
        purchasing.po_send(po=other, by=coordinator)
    with time_machine.travel(date(2026, 2, 15)):  # six days later, all of it
        receive(other, coordinator, (0, 50, ""))
    [performance] = selectors.vendor_performance([gel.vendor])
    assert performance.orders == 2
    assert performance.fill_rate == Decimal("0.867")  # 130 / 150
    assert performance.lead_time_days == Decimal("5.0")  # (4 + 6) / 2


def test_a_cancelled_order_does_not_count_against_the_vendor(coordinator: User) -> None:
    gel = ItemFactory.create()
    po = order(coordinator, (gel, 10))
    purchasing.po_send(po=po, by=coordinator)
    purchasing.po_cancel(po=po, by=coordinator, reason="Ordered twice")
    [performance] = selectors.vendor_performance([gel.vendor])
    assert (performance.orders, performance.fill_rate) == (0, None)


def test_an_order_with_receipts_cannot_be_cancelled(coordinator: User) -> None:
    gel = ItemFactory.create()
    po = order(coordinator, (gel, 10))
    purchasing.po_send(po=po, by=coordinator)
    receive(po, coordinator, (0, 5, ""))
    with pytest.raises(ValidationFailed):
        purchasing.po_cancel(po=po, by=coordinator, reason="Changed our mind")
