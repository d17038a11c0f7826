"""Writes: purchase orders (draft, send, receive in parts, close short, cancel) and turning the
reorder suggestions into draft orders. Each public function is one transaction.

A PO's received quantity is never stored: it is the sum of the receipt movements that name
its lines, so the ledger and the PO cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from radflow.core.errors import Conflict, ValidationFailed
from radflow.supplies import selectors
from radflow.supplies.models import (
    ZERO,
    Item,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    StockLocation,
    StockMovement,
    Vendor,
)
from radflow.supplies.services import By, Quantity, parse_quantity, stock_receive


@dataclass(frozen=True)
class LineInput:
    item: Item
    quantity: Quantity
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class ReceiptInput:
    line: PurchaseOrderLine
    quantity: Quantity
    lot_number: str = ""
    expiry_date: date | None = None


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(errors)


def _user(by: By) -> User | None:
    return by if isinstance(by, User) and by.is_authenticated else None


def _next_number(on: date) -> str:
    prefix = f"PO-{on:%Y}-"
    last = (
        PurchaseOrder.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    serial = (
        int(last.removeprefix(prefix)) + 1 if last and last.removeprefix(prefix).isdigit() else 1
    )
    return f"{prefix}{serial:05d}"


def received_by_line(po: PurchaseOrder) -> dict[int, Decimal]:
    rows = (
        StockMovement.objects.filter(po_line__purchase_order=po)
        .values("po_line")
        .annotate(total=Sum("quantity"))
        .order_by()
    )
    return {row["po_line"]: Decimal(row["total"]) for row in rows}


@transaction.atomic
def po_create(
    *,
    vendor: Vendor,
    deliver_to: StockLocation,
    lines: Sequence[LineInput],
    by: By,
    expected_on: date | None = None,
    notes: str = "",
    at: datetime | None = None,
) -> PurchaseOrder:
    """A draft PO; the price of a line defaults to the item's current unit price."""
    errors: dict[str, list[str]] = {}
    if not vendor.active:
        errors["vendor"] = [f"{vendor.name} is not an active vendor."]
    if deliver_to.kind != "store" and deliver_to.room_id is None:
        errors["deliver_to"] = ["Deliver to a store or a room."]
    if not lines:
        errors["lines"] = ["Order at least one item."]
    seen: set[object] = set()
    parsed: list[tuple[Item, Decimal, Decimal]] = []
    for index, line in enumerate(lines):
        amount = parse_quantity(line.quantity, errors, field=f"lines.{index}.quantity")
        if line.item.vendor_id != vendor.pk:
            errors[f"lines.{index}.item"] = [f"{line.item.name} is not bought from {vendor.name}."]
        if line.item.pk in seen:
            errors[f"lines.{index}.item"] = [f"{line.item.name} is on the order twice."]
        seen.add(line.item.pk)
        price = line.unit_price if line.unit_price is not None else line.item.unit_price
        if price < 0:
            errors[f"lines.{index}.unit_price"] = ["A price cannot be negative."]
        parsed.append((line.item, amount, price))
    _raise(errors)
    when = at or timezone.now()
    try:
        with transaction.atomic():
            po = PurchaseOrder.objects.create(
                number=_next_number(timezone.localdate(when)),
                vendor=vendor,
                deliver_to=deliver_to,
                expected_on=expected_on,
                created_by=_user(by),
                notes=notes.strip(),
            )
    except IntegrityError as error:
        raise Conflict("Another order took that number just now; try again.") from error
    PurchaseOrderLine.objects.bulk_create(
        PurchaseOrderLine(purchase_order=po, item=item, quantity_ordered=amount, unit_price=price)
        for item, amount, price in parsed
    )
    return po


@transaction.atomic
def po_send(*, po: PurchaseOrder, by: By, ordered_on: date | None = None) -> PurchaseOrder:
    """Mark a draft as sent to the vendor; the order date starts the lead-time clock."""
    po = PurchaseOrder.objects.select_for_update().get(pk=po.pk)
    if po.status != POStatus.DRAFT:
        raise ValidationFailed(
            {"status": [f"{po.number} is {po.get_status_display().lower()}, not a draft."]}
        )
    if not po.lines.exists():
        raise ValidationFailed({"lines": ["An order without lines cannot be sent."]})
    day = ordered_on or timezone.localdate()
    if day > timezone.localdate():
        raise ValidationFailed({"ordered_on": ["The order date is in the future."]})
    po.status = POStatus.SENT
    po.ordered_on = day
    po.save(update_fields=["status", "ordered_on", "updated_at"])
    return po


@transaction.atomic
def po_receive(
    *,
    po: PurchaseOrder,
    by: By,
    lines: Sequence[ReceiptInput],
    at: datetime | None = None,
) -> list[StockMovement]:
    """Receive (part of) a sent order into its deliver-to location. Never more than is still
    outstanding on a line; the PO becomes partly received or received."""
    po = PurchaseOrder.objects.select_for_update().select_related("deliver_to").get(pk=po.pk)
    errors: dict[str, list[str]] = {}
    if po.status not in (POStatus.SENT, POStatus.PARTIAL):
        errors["status"] = [
            f"{po.number} is {po.get_status_display().lower()}: nothing to receive."
        ]
    _raise(errors)
    received = received_by_line(po)
    wanted: list[ReceiptInput] = []
    for line in lines:
        field = f"line-{line.line.pk}-quantity"
        if line.line.purchase_order_id != po.pk:
            errors[field] = ["That line is not on this order."]
            continue
        amount = parse_quantity(line.quantity, errors, field=field, allow_zero=True)
        if field in errors or amount == 0:
            continue
        outstanding = line.line.quantity_ordered - received.get(line.line.pk, ZERO)
        if amount > outstanding:
            errors[field] = [
                f"Only {outstanding.normalize():f} {line.line.item.unit} of "
                f"{line.line.item.name} are outstanding."
            ]
        wanted.append(line)
    if not wanted and not errors:
        errors["lines"] = ["Enter the quantity received on at least one line."]
    _raise(errors)
    made = []
    for line in wanted:
        try:
            made.append(
                stock_receive(
                    item=line.line.item,
                    location=po.deliver_to,
                    quantity=line.quantity,
                    by=by,
                    lot_number=line.lot_number,
                    expiry_date=line.expiry_date,
                    unit_cost=line.line.unit_price,
                    po_line=line.line,
                    reason=f"Received on {po.number}",
                    at=at,
                )
            )
        except ValidationFailed as error:
            raise ValidationFailed(
                {f"line-{line.line.pk}-{key}": value for key, value in error.errors.items()}
            ) from error
    _settle(po)
    return made


def _settle(po: PurchaseOrder) -> None:
    received = received_by_line(po)
    complete = all(received.get(line.pk, ZERO) >= line.quantity_ordered for line in po.lines.all())
    po.status = POStatus.RECEIVED if complete else POStatus.PARTIAL
    fields = ["status", "updated_at"]
    if complete:
        po.closed_at = timezone.now()
        fields.append("closed_at")
    po.save(update_fields=fields)


@transaction.atomic
def po_close_short(*, po: PurchaseOrder, by: By, reason: str) -> PurchaseOrder:
    """Stop waiting for the rest of a partly received order (back-ordered, discontinued).
    What never came counts against the vendor's fill rate."""
    po = PurchaseOrder.objects.select_for_update().get(pk=po.pk)
    errors: dict[str, list[str]] = {}
    if po.status != POStatus.PARTIAL:
        errors["status"] = ["Only a partly received order can be closed short."]
    if not reason.strip():
        errors["reason"] = ["Say why the rest will not come."]
    _raise(errors)
    po.status = POStatus.RECEIVED
    po.closed_at = timezone.now()
    po.notes = (po.notes + f"\nClosed short: {reason.strip()}").strip()
    po.save(update_fields=["status", "closed_at", "notes", "updated_at"])
    return po


@transaction.atomic
def po_cancel(*, po: PurchaseOrder, by: By, reason: str) -> PurchaseOrder:
    po = PurchaseOrder.objects.select_for_update().get(pk=po.pk)
    errors: dict[str, list[str]] = {}
    if po.status not in (POStatus.DRAFT, POStatus.SENT):
        errors["status"] = ["An order with receipts cannot be cancelled; close it short."]
    if not reason.strip():
        errors["reason"] = ["Say why the order is cancelled."]
    _raise(errors)
    po.status = POStatus.CANCELLED
    po.closed_at = timezone.now()
    po.notes = (po.notes + f"\nCancelled: {reason.strip()}").strip()
    po.save(update_fields=["status", "closed_at", "notes", "updated_at"])
    return po


@transaction.atomic
def po_from_reorder(*, vendor: Vendor, by: By) -> list[PurchaseOrder]:
    """Draft orders for a vendor's reorder suggestions, one per deliver-to location."""
    groups = selectors.reorder_suggestions(vendor=vendor)
    if not groups:
        raise ValidationFailed({"vendor": [f"Nothing from {vendor.name} is at its reorder point."]})
    by_location: dict[object, list[selectors.ReorderLine]] = {}
    for line in groups[0].lines:
        by_location.setdefault(line.location.pk, []).append(line)
    orders = []
    for lines in by_location.values():
        orders.append(
            po_create(
                vendor=vendor,
                deliver_to=lines[0].location,
                lines=[LineInput(item=line.item, quantity=line.suggested) for line in lines],
                by=by,
                notes="From the reorder suggestions.",
            )
        )
    return orders
