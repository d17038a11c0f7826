"""Purchase-order exports: the PDF a vendor receives (read back with poppler's pdftotext) and
the CSV a buyer loads, for a PO and for a vendor's reorder suggestions."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from radflow.supplies import purchasing
from radflow.supplies.models import PurchaseOrder
from tests.conftest import client_for
from tests.supplies.factories import ItemFactory, StoreFactory, VendorFactory, level

pytestmark = pytest.mark.django_db

PDFTOTEXT = shutil.which("pdftotext") or "/usr/bin/pdftotext"


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-1.4")
    done = subprocess.run(  # noqa: S603 (a fixed local tool on our own bytes)
        [PDFTOTEXT, "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return done.stdout.decode()


@pytest.fixture
def po(coordinator: User) -> PurchaseOrder:
    vendor = VendorFactory.create(name="Parker Laboratories", account_number="PKR-118204")
    store = StoreFactory.create(name="Main supply store")
    gel = ItemFactory.create(
        name="Aquasonic 100 gel, 250 mL bottle",
        vendor=vendor,
        catalogue_number="01-08",
        unit_price=Decimal("2.10"),
    )
    refill = ItemFactory.create(
        name="Aquasonic 100 gel, 5 L refill",
        vendor=vendor,
        catalogue_number="01-50",
        unit="jug",
        unit_price=Decimal("18.50"),
    )
    return purchasing.po_create(
        vendor=vendor,
        deliver_to=store,
        lines=[
            purchasing.LineInput(item=gel, quantity=48),
            purchasing.LineInput(item=refill, quantity=4),
        ],
        by=coordinator,
        notes="Deliver to dock 2",
    )


def test_the_po_pdf_carries_number_vendor_lines_and_total(
    coordinator: User, po: PurchaseOrder
) -> None:
    response = client_for(coordinator).get(reverse("supplies:po_pdf", args=[po.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="{po.number}.pdf"' in response["Content-Disposition"]
    text = pdf_text(response.content)
    assert f"Purchase order {po.number}" in text
    assert "Parker Laboratories" in text and "PKR-118204" in text
    lines = [line.split() for line in text.splitlines()]
    assert ["1", "01-08", "Aquasonic", "100", "gel,", "250", "mL", "bottle", "bottle", "48", "2.10",
            "100.80", "Main", "supply", "store"] in lines  # fmt: skip
    assert any(row[:2] == ["2", "01-50"] and "74.00" in row for row in lines)
    assert "174.80" in text  # the total
    assert "Deliver to dock 2" in text


def test_the_po_csv_has_a_header_and_one_row_per_line(coordinator: User, po: PurchaseOrder) -> None:
    response = client_for(coordinator).get(reverse("supplies:po_csv", args=[po.pk]))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["Line", "Catalogue no.", "Item", "Unit", "Quantity", "Unit price", "Amount", "Deliver to"],
        ["1", "01-08", "Aquasonic 100 gel, 250 mL bottle", "bottle", "48", "2.10", "100.80",
         "Main supply store"],
        ["2", "01-50", "Aquasonic 100 gel, 5 L refill", "jug", "4", "18.50", "74.00",
         "Main supply store"],
    ]  # fmt: skip


def test_a_name_that_looks_like_a_formula_stays_text_in_the_csv(coordinator: User) -> None:
    vendor = VendorFactory.create()
    store = StoreFactory.create()
    item = ItemFactory.create(name='=HYPERLINK("http://x")', vendor=vendor)
    level(item, store, par=5, reorder=1)
    response = client_for(coordinator).get(reverse("supplies:reorder_csv", args=[vendor.pk]))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][2] == '\'=HYPERLINK("http://x")'


def test_the_reorder_suggestion_exports_as_a_po_pdf_and_csv(coordinator: User) -> None:
    vendor = VendorFactory.create(name="Sony Medical")
    store = StoreFactory.create(name="Riverside store")
    paper = ItemFactory.create(
        name="UPP-110HG thermal paper roll",
        vendor=vendor,
        unit="roll",
        catalogue_number="UPP-110HG",
        unit_price=Decimal("9.80"),
    )
    level(paper, store, par=20, reorder=5)
    client = client_for(coordinator)
    text = pdf_text(client.get(reverse("supplies:reorder_pdf", args=[vendor.pk])).content)
    assert "Sony Medical" in text and "UPP-110HG thermal paper roll" in text
    assert "196.00" in text  # 20 rolls at 9.80
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(reverse("supplies:reorder_csv", args=[vendor.pk])).content.decode()
            )
        )
    )
    assert rows[1][4:8] == ["20", "9.80", "196.00", "Riverside store"]


def test_a_long_order_breaks_across_pages_and_keeps_every_line(coordinator: User) -> None:
    vendor = VendorFactory.create()
    items = [ItemFactory.create(name=f"Item number {n:03d}", vendor=vendor) for n in range(70)]
    po = purchasing.po_create(
        vendor=vendor,
        deliver_to=StoreFactory.create(),
        lines=[purchasing.LineInput(item=item, quantity=1) for item in items],
        by=coordinator,
    )
    text = pdf_text(client_for(coordinator).get(reverse("supplies:po_pdf", args=[po.pk])).content)
    assert all(f"Item number {n:03d}" in text for n in range(70))
    assert "Page 2 of 2" in text
