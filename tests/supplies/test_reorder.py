"""The reorder list: an item appears when its on-hand crosses the reorder point, suggests what
brings it back to par less what is on order, by vendor; and turns into a draft order."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radflow.core.errors import ValidationFailed
from radflow.supplies import purchasing, selectors, services
from radflow.supplies.models import POStatus
from tests.supplies.factories import (
    ItemFactory,
    StoreFactory,
    VendorFactory,
    level,
    lot,
    probe_covers,
    receive,
)

pytestmark = pytest.mark.django_db


def suggested(item: object) -> Decimal | None:
    for group in selectors.reorder_suggestions():
        for line in group.lines:
            if line.item == item:
                return line.suggested
    return None


def test_an_item_appears_when_on_hand_falls_to_its_reorder_point() -> None:
    gel, store = ItemFactory.create(), StoreFactory.create()
    level(gel, store, par=24, reorder=6)
    receive(gel, store, 10)
    assert suggested(gel) is None
    services.stock_issue(item=gel, location=store, quantity=3, by=None)
    assert suggested(gel) is None  # 7 left: above the point
    services.stock_issue(item=gel, location=store, quantity=1, by=None)
    assert suggested(gel) == 18  # 6 left: at the point, order up to par


def test_crossing_the_point_in_either_direction_adds_or_removes_the_line() -> None:
    @settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        par=st.integers(1, 40),
        point=st.integers(0, 40),
        moves=st.lists(st.integers(-8, 8).filter(bool), max_size=12),
    )
    def run(par: int, point: int, moves: list[int]) -> None:
        point = min(point, par)
        gel, store = ItemFactory.create(), StoreFactory.create()
        level(gel, store, par=par, reorder=point)
        have = 0
        for move in moves:
            if move > 0:
                receive(gel, store, move)
                have += move
            elif have >= -move:
                services.stock_issue(item=gel, location=store, quantity=-move, by=None)
                have += move
            expected = Decimal(par - have) if have <= point and par - have > 0 else None
            assert suggested(gel) == expected, (par, point, have)

    run()


def test_expired_and_recalled_stock_does_not_count_as_on_hand(coordinator: object) -> None:
    covers, store = probe_covers(), StoreFactory.create()
    level(covers, store, par=100, reorder=40)
    receive(covers, store, 60, lot_number="GOOD", expires_in_days=300)
    receive(covers, store, 50, lot_number="SOON", expires_in_days=3)
    assert suggested(covers) is None
    with time_machine.travel(timezone.now() + timedelta(days=4)):
        assert suggested(covers) is None  # 60 usable
        services.lot_recall(lot=lot(covers, "GOOD"), by=coordinator, reason="Notice 12")  # type: ignore[arg-type]
        assert suggested(covers) == 100


def test_what_is_on_order_is_not_suggested_twice(coordinator: object) -> None:
    gel, store = ItemFactory.create(), StoreFactory.create()
    level(gel, store, par=24, reorder=6)
    receive(gel, store, 4)
    assert suggested(gel) == 20
    [po] = purchasing.po_from_reorder(vendor=gel.vendor, by=coordinator)  # type: ignore[arg-type]
    assert suggested(gel) == 20  # a draft is not an order yet
    purchasing.po_send(po=po, by=coordinator)  # type: ignore[arg-type]
    assert suggested(gel) is None  # 4 on hand + 20 on order = par


def test_suggestions_are_grouped_by_vendor_with_their_value() -> None:
    medline, parker = (
        VendorFactory.create(name="Medline Industries"),
        VendorFactory.create(name="Parker Labs"),
    )
    store = StoreFactory.create()
    gowns = ItemFactory.create(
        name="Patient gown", vendor=medline, unit="each", unit_price=Decimal("0.65")
    )
    paper = ItemFactory.create(
        name="Table paper roll", vendor=medline, unit="roll", unit_price=Decimal("7.90")
    )
    gel = ItemFactory.create(name="Gel bottle", vendor=parker, unit_price=Decimal("2.10"))
    for item in (gowns, paper, gel):
        level(item, store, par=10, reorder=2)
    groups = selectors.reorder_suggestions()
    assert [g.vendor.name for g in groups] == ["Medline Industries", "Parker Labs"]
    assert [line.item.name for line in groups[0].lines] == ["Patient gown", "Table paper roll"]
    assert groups[0].total == Decimal("85.50")  # 10 x 0.65 + 10 x 7.90


def test_a_vendor_with_nothing_at_its_point_gets_no_order(coordinator: object) -> None:
    gel, store = ItemFactory.create(), StoreFactory.create()
    level(gel, store, par=10, reorder=2)
    receive(gel, store, 10)
    with pytest.raises(ValidationFailed):
        purchasing.po_from_reorder(vendor=gel.vendor, by=coordinator)  # type: ignore[arg-type]


def test_a_draft_from_the_suggestions_orders_each_location_separately(coordinator: object) -> None:
    gel, store, other = ItemFactory.create(), StoreFactory.create(), StoreFactory.create()
    level(gel, store, par=10, reorder=2)
    level(gel, other, par=6, reorder=1)
    orders = purchasing.po_from_reorder(vendor=gel.vendor, by=coordinator)  # type: ignore[arg-type]
    assert sorted((po.deliver_to.code, po.lines.get().quantity_ordered) for po in orders) == sorted(
        [(store.code, Decimal(10)), (other.code, Decimal(6))]
    )
    assert {po.status for po in orders} == {POStatus.DRAFT}
