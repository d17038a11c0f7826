"""The supplies pages as people use them: the dashboard, a shelf, issuing, counting, ordering
and receiving, templates, and an exam's supplies adjusted in one click."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from radflow.audit.models import AccessLog
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.supplies import purchasing, selectors, setup
from radflow.supplies.models import (
    CycleCount,
    Item,
    POStatus,
    PurchaseOrder,
    StockLocation,
    StockMovement,
    Vendor,
)
from tests.conftest import client_for
from tests.exams.factories import ultrasound_room
from tests.orders.factories import make_order
from tests.scheduling.factories import SiteFactory
from tests.supplies.factories import (
    ItemFactory,
    StoreFactory,
    VendorFactory,
    level,
    probe_covers,
    receive,
    room_shelf,
)

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_low_stock_and_expiring_lots(
    technologist: User, django_assert_max_num_queries: Any
) -> None:
    gel, covers, store = (
        ItemFactory.create(name="Gel bottle"),
        probe_covers(),
        StoreFactory.create(),
    )
    level(gel, store, par=24, reorder=6)
    receive(gel, store, 5)
    receive(covers, store, 30, lot_number="EXP-SOON", expires_in_days=10)
    client = client_for(technologist)
    with django_assert_max_num_queries(25):
        response = client.get(reverse("supplies:dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Gel bottle" in html and "reorder" in html
    assert "EXP-SOON" in html


def test_the_dashboard_compares_consumption_with_the_template(
    coordinator: User, reference: None
) -> None:
    from radflow.supplies import services

    room = ultrasound_room()
    shelf = room_shelf(room)
    gel = ItemFactory.create(name="Gel bottle")
    receive(gel, shelf, 10)
    exam = make_order().exam
    Exam.objects.filter(pk=exam.pk).update(
        room=room, state=ExamState.COMPLETED, completed_at=timezone.now()
    )
    exam.refresh_from_db()
    setup.template_set(exam_type=exam.order.exam_type, lines={gel: "0.5"})
    services.exam_supplies_apply(exam=exam)
    services.exam_supplies_set(exam=exam, by=coordinator, quantities={gel: 1})
    html = client_for(coordinator).get(reverse("supplies:dashboard")).content.decode()
    assert exam.order.exam_type.name in html
    assert "100.0 %" in html  # one exam, twice the template


def test_a_shelf_lists_what_is_on_it_by_lot(coordinator: User) -> None:
    covers, store = probe_covers(), StoreFactory.create(name="Main store")
    receive(covers, store, 30, lot_number="C-77")
    html = (
        client_for(coordinator)
        .get(reverse("supplies:location_detail", args=[store.pk]))
        .content.decode()
    )
    assert "C-77 \u00d730" in html


def test_issuing_by_hand(technologist: User) -> None:
    gel, store = ItemFactory.create(), StoreFactory.create()
    receive(gel, store, 10)
    response = client_for(technologist).post(
        reverse("supplies:issue"),
        {"item": gel.pk, "location": store.pk, "quantity": "2", "reason": "Spill"},
    )
    assert response.status_code == 302
    assert selectors.on_hand(gel, store) == 8


def test_issuing_more_than_on_hand_shows_the_reason_and_changes_nothing(technologist: User) -> None:
    gel, store = ItemFactory.create(), StoreFactory.create()
    receive(gel, store, 1)
    response = client_for(technologist).post(
        reverse("supplies:issue"), {"item": gel.pk, "location": store.pk, "quantity": "2"}
    )
    assert response.status_code == 422
    assert "Only 1 bottle" in response.content.decode()
    assert selectors.on_hand(gel, store) == 1


def test_an_unknown_accession_is_a_form_error(technologist: User) -> None:
    gel, store = ItemFactory.create(), StoreFactory.create()
    receive(gel, store, 1)
    response = client_for(technologist).post(
        reverse("supplies:issue"),
        {"item": gel.pk, "location": store.pk, "quantity": "1", "accession_number": "NOPE"},
    )
    assert response.status_code == 422
    assert "No exam has accession number NOPE" in response.content.decode()


def test_counting_a_shelf_posts_the_variance(coordinator: User) -> None:
    gel, store = ItemFactory.create(name="Gel bottle"), StoreFactory.create()
    level(gel, store, par=24, reorder=6)
    receive(gel, store, 12)
    client = client_for(coordinator)
    sheet = client.get(reverse("supplies:location_count", args=[store.pk])).content.decode()
    assert "Gel bottle" in sheet and "12" not in sheet.split("Gel bottle")[1][:80]  # blind count
    response = client.post(
        reverse("supplies:location_count", args=[store.pk]), {f"count-{gel.pk}-all": "10"}
    )
    count = CycleCount.objects.get()
    assert response.status_code == 302
    assert selectors.on_hand(gel, store) == 10
    html = client.get(reverse("supplies:count_detail", args=[count.pk])).content.decode()
    assert "-2" in html and "-4.20" in html  # two bottles at 2.10


def test_a_coordinator_orders_sends_and_receives_a_po(coordinator: User) -> None:
    vendor = VendorFactory.create(name="Parker Laboratories")
    gel = ItemFactory.create(vendor=vendor)
    store = StoreFactory.create()
    client = client_for(coordinator)
    assert "Parker Laboratories" in client.get(reverse("supplies:po_add")).content.decode()
    response = client.post(
        reverse("supplies:po_add") + f"?vendor={vendor.pk}",
        {"deliver_to": store.pk, f"item-{gel.pk}": "24"},
    )
    po = PurchaseOrder.objects.get()
    assert response.status_code == 302 and po.status == POStatus.DRAFT
    client.post(reverse("supplies:po_send", args=[po.pk]))
    line = po.lines.get()
    response = client.post(
        reverse("supplies:po_receive", args=[po.pk]), {f"line-{line.pk}-quantity": "20"}
    )
    assert response.status_code == 302
    po.refresh_from_db()
    assert po.status == POStatus.PARTIAL
    assert selectors.on_hand(gel, store) == 20
    html = client.get(reverse("supplies:po_detail", args=[po.pk])).content.decode()
    assert "Partly received" in html


def test_receiving_a_lot_tracked_line_needs_the_lot(coordinator: User) -> None:
    covers = probe_covers()
    po = purchasing.po_create(
        vendor=covers.vendor,
        deliver_to=StoreFactory.create(),
        lines=[purchasing.LineInput(item=covers, quantity=100)],
        by=coordinator,
    )
    purchasing.po_send(po=po, by=coordinator)
    line = po.lines.get()
    response = client_for(coordinator).post(
        reverse("supplies:po_receive", args=[po.pk]), {f"line-{line.pk}-quantity": "100"}
    )
    assert response.status_code == 422
    assert "enter the lot number" in response.content.decode()
    assert not StockMovement.objects.exists()


def test_the_reorder_page_turns_a_vendor_into_a_draft(coordinator: User) -> None:
    gel, store = ItemFactory.create(), StoreFactory.create()
    level(gel, store, par=12, reorder=3)
    client = client_for(coordinator)
    assert gel.vendor.name in client.get(reverse("supplies:reorder")).content.decode()
    client.post(reverse("supplies:reorder_order", args=[gel.vendor.pk]))
    assert PurchaseOrder.objects.get().lines.get().quantity_ordered == 12


def test_master_data_pages(coordinator: User) -> None:
    client = client_for(coordinator)
    response = client.post(
        reverse("supplies:vendor_add"),
        {"name": "PDI Healthcare", "account_number": "PDI-1", "quoted_lead_time_days": "5",
         "active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    vendor = Vendor.objects.get(name="PDI Healthcare")
    response = client.post(
        reverse("supplies:item_add"),
        {"name": "Sani-Cloth Plus canister", "category": "wipes", "unit": "canister",
         "vendor": vendor.pk, "catalogue_number": "Q89072", "unit_price": "8.75", "active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    item = Item.objects.get(name="Sani-Cloth Plus canister")
    site = SiteFactory.create()
    response = client.post(
        reverse("supplies:location_add"),
        {"name": "Store", "code": "ST-9", "kind": "store", "site": site.pk, "active": "on"},
    )
    assert response.status_code == 302
    store = StockLocation.objects.get(code="ST-9")
    response = client.post(
        reverse("supplies:item_levels", args=[item.pk]),
        {f"par-{store.pk}": "6", f"reorder-{store.pk}": "8"},
    )
    assert response.status_code == 422
    assert "must not be above par" in response.content.decode()
    client.post(
        reverse("supplies:item_levels", args=[item.pk]),
        {f"par-{store.pk}": "6", f"reorder-{store.pk}": "2"},
    )
    assert item.stock_levels.get().par_level == 6


def test_a_contrast_item_must_be_lot_tracked(coordinator: User) -> None:
    vendor = VendorFactory.create()
    response = client_for(coordinator).post(
        reverse("supplies:item_add"),
        {"name": "Iohexol 350, 100 mL", "category": "contrast", "unit": "vial",
         "vendor": vendor.pk, "unit_price": "38.00", "active": "on"},
    )  # fmt: skip
    assert response.status_code == 422
    assert not Item.objects.exists()


def test_editing_a_template(coordinator: User, reference: None) -> None:
    gel = ItemFactory.create(name="Gel bottle")
    exam = make_order().exam
    client = client_for(coordinator)
    url = reverse("supplies:template_edit", args=[exam.order.exam_type_id])
    assert client.post(url, {f"item-{gel.pk}": "0.25", "active": "on"}).status_code == 302
    assert "0.25 \u00d7 Gel bottle" in client.get(reverse("supplies:templates")).content.decode()


@pytest.fixture
def performed(reference: None) -> tuple[Exam, Item, StockLocation]:
    room = ultrasound_room()
    shelf = room_shelf(room)
    gel = ItemFactory.create(name="Gel bottle")
    receive(gel, shelf, 10)
    exam = make_order().exam
    Exam.objects.filter(pk=exam.pk).update(
        room=room, state=ExamState.COMPLETED, completed_at=timezone.now() - timedelta(minutes=5)
    )
    exam.refresh_from_db()
    setup.template_set(exam_type=exam.order.exam_type, lines={gel: "0.5"})
    from radflow.supplies.services import exam_supplies_apply

    exam_supplies_apply(exam=exam)
    return exam, gel, shelf


def test_the_exam_page_shows_template_and_use_and_audits_the_read(
    technologist: User, performed: tuple[Exam, Item, StockLocation]
) -> None:
    exam, _, _ = performed
    response = client_for(technologist).get(reverse("supplies:exam", args=[exam.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert exam.order.patient.display_name in html and "Gel bottle" in html
    assert AccessLog.objects.filter(action="supplies.exam", patient=exam.order.patient).exists()


def test_one_click_adds_one_more(
    technologist: User, performed: tuple[Exam, Item, StockLocation]
) -> None:
    exam, gel, shelf = performed
    html = client_for(technologist).get(reverse("supplies:exam", args=[exam.pk])).content.decode()
    assert 'name="quantity" value="1.50"' in html  # the +1 button posts the new total
    response = client_for(technologist).post(
        reverse("supplies:exam_adjust", args=[exam.pk]), {"item": gel.pk, "quantity": "1.5"}
    )
    assert response.status_code == 302
    assert selectors.exam_consumption(exam) == {gel.pk: Decimal("1.5")}
    assert selectors.on_hand(gel, shelf) == Decimal("8.5")


def test_adding_an_item_the_template_did_not_list(
    technologist: User, performed: tuple[Exam, Item, StockLocation]
) -> None:
    exam, _, shelf = performed
    gown = ItemFactory.create(name="Patient gown", unit="each")
    receive(gown, shelf, 5)
    client_for(technologist).post(
        reverse("supplies:exam_adjust", args=[exam.pk]),
        {"add": "1", "item": gown.pk, "quantity": "1"},
    )
    assert selectors.exam_consumption(exam)[gown.pk] == 1


def test_a_reader_sees_the_exam_supplies_but_cannot_change_them(
    director: User, performed: tuple[Exam, Item, StockLocation]
) -> None:
    exam, gel, _ = performed
    client = client_for(director)
    html = client.get(reverse("supplies:exam", args=[exam.pk])).content.decode()
    assert "+1" not in html
    response = client.post(
        reverse("supplies:exam_adjust", args=[exam.pk]), {"item": gel.pk, "quantity": "3"}
    )
    assert response.status_code == 403
    assert selectors.exam_consumption(exam) == {gel.pk: Decimal("0.5")}


def test_the_exam_page_links_to_its_supplies(
    technologist: User, performed: tuple[Exam, Item, StockLocation]
) -> None:
    exam, _, _ = performed
    html = client_for(technologist).get(reverse("exams:detail", args=[exam.pk])).content.decode()
    assert reverse("supplies:exam", args=[exam.pk]) in html


def test_vendor_page_shows_performance(coordinator: User) -> None:
    vendor = VendorFactory.create(name="Medline Industries")
    html = (
        client_for(coordinator)
        .get(reverse("supplies:vendor_detail", args=[vendor.pk]))
        .content.decode()
    )
    assert "Medline Industries" in html and "Fill rate" in html


@pytest.mark.parametrize(
    ("role", "status"),
    [("technologist", 403), ("biomed", 200), ("director", 200), ("stranger", 403)],
)
def test_who_reads_the_ledger(role: str, status: int, request: pytest.FixtureRequest) -> None:
    user: User = request.getfixturevalue(role)
    assert client_for(user).get(reverse("supplies:movements")).status_code == status


def test_nothing_is_written_by_a_reader_posting_a_receipt(director: User) -> None:
    gel, store = ItemFactory.create(), StoreFactory.create()
    response = client_for(director).post(
        reverse("supplies:receive"), {"item": gel.pk, "location": store.pk, "quantity": "5"}
    )
    assert response.status_code == 403
    assert not StockMovement.objects.exists()
