"""Purchase-order documents: the rows a PO or a vendor's reorder suggestion is made of, as CSV
rows and as a PDF (``radflow.core.pdf``). Both exports come from the same rows, so the PDF a
vendor receives and the CSV a buyer loads into the hospital's ERP always agree."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils import timezone

from radflow.core.pdf import Column, Document
from radflow.supplies import selectors
from radflow.supplies.models import ZERO, PurchaseOrder, Vendor

HEADER = ["Line", "Catalogue no.", "Item", "Unit", "Quantity", "Unit price", "Amount", "Deliver to"]
COLUMNS = [  # 516 points of text width on US Letter
    Column("#", 20),
    Column("Catalogue no.", 70),
    Column("Item", 160),
    Column("Unit", 36),
    Column("Qty", 36, "right"),
    Column("Unit price", 56, "right"),
    Column("Amount", 60, "right"),
    Column("Deliver to", 78),
]


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):,.2f}"


def _qty(value: Decimal) -> str:
    return f"{value.normalize():f}"


def csv_safe(row: Sequence[str]) -> list[str]:
    """Keep spreadsheet programs from running a cell as a formula (names are free text)."""
    return ["'" + cell if cell[:1] in {"=", "+", "-", "@", "\t", "\r"} else cell for cell in row]


def po_rows(po: PurchaseOrder) -> list[list[str]]:
    """Header row then one row per line; the CSV a buyer loads, and the PDF table."""
    rows = [HEADER]
    for number, line in enumerate(po.lines.select_related("item").order_by("item__name"), 1):
        rows.append(
            [
                str(number),
                line.item.catalogue_number,
                line.item.name,
                line.item.unit,
                _qty(line.quantity_ordered),
                _money(line.unit_price),
                _money(line.quantity_ordered * line.unit_price),
                po.deliver_to.name,
            ]
        )
    return rows


def reorder_rows(vendor: Vendor) -> list[list[str]]:
    rows = [HEADER]
    groups = selectors.reorder_suggestions(vendor=vendor)
    lines = groups[0].lines if groups else []
    for number, line in enumerate(lines, 1):
        rows.append(
            [
                str(number),
                line.item.catalogue_number,
                line.item.name,
                line.item.unit,
                _qty(line.suggested),
                _money(line.item.unit_price),
                _money(line.amount),
                line.location.name,
            ]
        )
    return rows


def _vendor_lines(vendor: Vendor) -> list[str | tuple[str, str]]:
    lines: list[str | tuple[str, str]] = [("Vendor", vendor.name)]
    if vendor.account_number:
        lines.append(("Our account", vendor.account_number))
    if vendor.contract_number:
        lines.append(("Contract", vendor.contract_number))
    contact = ", ".join(
        part
        for part in (
            vendor.contact_name,
            vendor.contact_phone,
            vendor.ordering_email or vendor.contact_email,
        )
        if part
    )
    if contact:
        lines.append(("Contact", contact))
    if vendor.payment_terms:
        lines.append(("Payment terms", vendor.payment_terms))
    return lines


def _total(rows: list[list[str]]) -> Decimal:
    return sum((Decimal(row[6].replace(",", "")) for row in rows[1:]), ZERO)


def po_pdf(po: PurchaseOrder) -> bytes:
    rows = po_rows(po)
    header = [
        ("Purchase order", po.number),
        ("Status", po.get_status_display()),
        ("Order date", po.ordered_on.isoformat() if po.ordered_on else "not sent yet"),
        ("Expected", po.expected_on.isoformat() if po.expected_on else "—"),
        ("Deliver to", f"{po.deliver_to.name} ({po.deliver_to.site.name})"),
        *_vendor_lines(po.vendor),
    ]
    footer: list[str | tuple[str, str]] = [("Total", _money(_total(rows)))]
    if po.notes:
        footer.append(("Notes", po.notes.replace("\n", " ")))
    return Document(
        title=f"Purchase order {po.number}",
        header=header,
        columns=COLUMNS,
        rows=rows[1:],
        footer=footer,
    ).render()


def reorder_pdf(vendor: Vendor) -> bytes:
    rows = reorder_rows(vendor)
    today = timezone.localdate()
    header = [("Prepared", today.isoformat()), *_vendor_lines(vendor)]
    footer: list[str | tuple[str, str]] = [
        ("Total", _money(_total(rows))),
        "Suggested quantities bring each location back to par, less what is already on order.",
    ]
    if len(rows) == 1:
        footer.insert(0, "Nothing from this vendor is at its reorder point.")
    return Document(
        title=f"Purchase order (suggested) — {vendor.name}",
        header=header,
        columns=COLUMNS,
        rows=rows[1:],
        footer=footer,
    ).render()
