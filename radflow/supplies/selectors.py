"""Reads: on-hand from the ledger, usable lots, where an exam draws stock from, reorder
suggestions, recall exposure, vendor performance and the dashboard.

On-hand is always a sum over ``StockMovement``; nothing caches it, so two processes never
disagree about the shelf.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.exams.models import Exam
from radflow.supplies.models import (
    ZERO,
    ConsumptionTemplateLine,
    Item,
    ItemStockLevel,
    LocationKind,
    Lot,
    MovementKind,
    POStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    StockLocation,
    StockMovement,
    Vendor,
)

OPEN_PO_STATUSES = (POStatus.SENT, POStatus.PARTIAL)


#: Ledger quantities have two decimal places: every sum of them is a whole number of cents.
CENT = Decimal("0.01")


def _exact(total: Any) -> Decimal:
    """A sum of ledger quantities as the exact decimal it is.

    SQLite keeps decimals as floating point, so its sums carry rounding noise (2 can come back
    as 1.99999999999975, 0 as 3E-13) that depends on the order the rows are read in, which an
    index decides. Rounded to the quantities' two places, the sum is exact whatever the order
    (PostgreSQL's numeric sums are exact already).
    """
    return Decimal(total).quantize(CENT) if total is not None else ZERO


def _sum(queryset: QuerySet[StockMovement]) -> Decimal:
    return _exact(queryset.aggregate(total=Sum("quantity"))["total"])


def on_hand(item: Item, location: StockLocation, lot: Lot | None = None) -> Decimal:
    """Quantity of ``item`` at ``location``; with ``lot``, of that lot only, else of all lots."""
    movements = StockMovement.objects.filter(item=item, location=location)
    if lot is not None:
        movements = movements.filter(lot=lot)
    return _sum(movements)


def lot_is_usable(lot: Lot, on: date | None = None) -> bool:
    """Not recalled and not past its expiry date (a lot expiring today is usable today)."""
    day = on or timezone.localdate()
    return lot.recalled_at is None and (lot.expiry_date is None or lot.expiry_date >= day)


def lot_problem(lot: Lot, on: date | None = None) -> str | None:
    """Why a lot may not be used, in words; ``None`` when it may."""
    day = on or timezone.localdate()
    if lot.recalled_at is not None:
        return f"Lot {lot.lot_number} of {lot.item.name} is recalled: {lot.recall_reason}".strip()
    if lot.expiry_date is not None and lot.expiry_date < day:
        return f"Lot {lot.lot_number} of {lot.item.name} expired on {lot.expiry_date:%Y-%m-%d}."
    return None


def lots_on_hand(
    item: Item, location: StockLocation, *, usable_on: date | None = None
) -> list[tuple[Lot, Decimal]]:
    """Lots of ``item`` with stock at ``location``, first to expire first (FEFO).

    With ``usable_on``, recalled lots and lots expired before that day are left out.
    """
    rows = (
        StockMovement.objects.filter(item=item, location=location, lot__isnull=False)
        .values("lot")
        .annotate(total=Sum("quantity"))
        .filter(total__gt=0)
    )
    exact = {row["lot"]: _exact(row["total"]) for row in rows}
    totals = {lot: quantity for lot, quantity in exact.items() if quantity > 0}
    lots = Lot.objects.filter(pk__in=totals).select_related("item")
    if usable_on is not None:
        lots = lots.filter(recalled_at__isnull=True).filter(
            Q(expiry_date__isnull=True) | Q(expiry_date__gte=usable_on)
        )
    ordered = sorted(lots, key=lambda lot: (lot.expiry_date or date.max, lot.lot_number))
    return [(lot, totals[lot.pk]) for lot in ordered]


def usable_on_hand(item: Item, location: StockLocation, on: date | None = None) -> Decimal:
    """On-hand that may still be used: recalled and expired lots left out."""
    day = on or timezone.localdate()
    bad = Q(lot__recalled_at__isnull=False) | Q(lot__expiry_date__lt=day)
    return _sum(StockMovement.objects.filter(item=item, location=location).exclude(bad))


def exam_stock_locations(exam: Exam) -> list[StockLocation]:
    """Where an exam draws supplies from, in order: its room's shelf, then its site's stores."""
    room = exam.room
    if room is None:
        return []
    found: list[StockLocation] = []
    room_location = StockLocation.objects.filter(room_id=room.pk, active=True).first()
    if room_location is not None:
        found.append(room_location)
    stores = StockLocation.objects.filter(
        site_id=room.site_id, kind=LocationKind.STORE, active=True
    )
    found.extend(stores.order_by("name"))
    return found


def exam_stock_location(exam: Exam) -> StockLocation | None:
    """The first place an exam draws from (the room's shelf, else a store of its site)."""
    locations = exam_stock_locations(exam)
    return locations[0] if locations else None


def exam_consumption(exam: Exam) -> dict[UUID, Decimal]:
    """Net quantity of each item an exam consumed (issues minus returns), by item id."""
    rows = (
        StockMovement.objects.filter(exam=exam)
        .values("item")
        .annotate(total=Sum("quantity"))
        .order_by()
    )
    net = {row["item"]: -_exact(row["total"]) for row in rows}
    return {item: quantity for item, quantity in net.items() if quantity}


# --- reorder -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReorderLine:
    level: ItemStockLevel
    on_hand: Decimal
    on_order: Decimal
    suggested: Decimal

    @property
    def item(self) -> Item:
        return self.level.item

    @property
    def location(self) -> StockLocation:
        return self.level.location

    @property
    def amount(self) -> Decimal:
        return (self.suggested * self.level.item.unit_price).quantize(Decimal("0.01"))


@dataclass
class VendorReorder:
    vendor: Vendor
    lines: list[ReorderLine] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)


def _usable_totals(on: date) -> dict[tuple[UUID, UUID], Decimal]:
    bad = Q(lot__recalled_at__isnull=False) | Q(lot__expiry_date__lt=on)
    rows = (
        StockMovement.objects.exclude(bad)
        .values("item", "location")
        .annotate(total=Sum("quantity"))
        .order_by()
    )
    return {(row["item"], row["location"]): _exact(row["total"]) for row in rows}


def on_order() -> dict[tuple[UUID, UUID], Decimal]:
    """Ordered but not yet received on sent or partly received POs, by (item, deliver-to)."""
    lines = PurchaseOrderLine.objects.filter(purchase_order__status__in=OPEN_PO_STATUSES).annotate(
        received=Sum("receipts__quantity")
    )
    result: dict[tuple[UUID, UUID], Decimal] = defaultdict(lambda: ZERO)
    for line in lines.values("item", "purchase_order__deliver_to", "quantity_ordered", "received"):
        outstanding = Decimal(line["quantity_ordered"]) - Decimal(line["received"] or 0)
        if outstanding > 0:
            result[(line["item"], line["purchase_order__deliver_to"])] += outstanding
    return result


def reorder_suggestions(
    *, vendor: Vendor | None = None, on: date | None = None
) -> list[VendorReorder]:
    """Items at or below their reorder point, with the quantity that brings them back to par.

    On-hand counts usable stock only (an expired or recalled lot on the shelf is no stock), and
    what is already on order is subtracted so a sent PO is not ordered twice.
    """
    day = on or timezone.localdate()
    totals = _usable_totals(day)
    pending = on_order()
    levels = ItemStockLevel.objects.filter(
        item__active=True, location__active=True, item__vendor__active=True
    ).select_related("item", "item__vendor", "location")
    if vendor is not None:
        levels = levels.filter(item__vendor=vendor)
    by_vendor: dict[UUID, VendorReorder] = {}
    for level in levels:
        key = (level.item_id, level.location_id)
        have = totals.get(key, ZERO)
        if have > level.reorder_point:
            continue
        ordered = pending.get(key, ZERO)
        suggested = level.par_level - have - ordered
        if suggested <= 0:
            continue
        group = by_vendor.setdefault(level.item.vendor_id, VendorReorder(vendor=level.item.vendor))
        group.lines.append(
            ReorderLine(level=level, on_hand=have, on_order=ordered, suggested=suggested)
        )
    groups = sorted(by_vendor.values(), key=lambda g: g.vendor.name)
    for group in groups:
        group.lines.sort(key=lambda line: (line.location.name, line.item.name))
    return groups


# --- recall ------------------------------------------------------------------------------------


def exams_using_lot(lot: Lot) -> QuerySet[Exam]:
    """Exams that drew (net) from ``lot``: the patients a recall may need to reach."""
    exam_ids = (
        StockMovement.objects.filter(lot=lot, exam__isnull=False)
        .values("exam")
        .annotate(total=Sum("quantity"))
        .filter(total__lt=0)
        .values("exam")
    )
    return (
        Exam.objects.filter(pk__in=exam_ids)
        .select_related("order__patient", "order__exam_type", "room")
        .order_by("completed_at", "accession_number")
    )


# --- vendors -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VendorPerformance:
    vendor: Vendor
    orders: int
    ordered: Decimal
    received: Decimal
    fill_rate: Decimal | None
    lead_time_days: Decimal | None


def vendor_performance(vendors: Iterable[Vendor] | None = None) -> list[VendorPerformance]:
    """Fill rate (received / ordered) and mean lead time (first receipt - order date) per vendor.

    ``orders`` counts sent, partly received and received POs (a draft was never ordered, a
    cancelled one no longer is). The fill rate is over closed orders only (received in full or
    closed short): an order still within its lead time has not failed to fill yet. The lead
    time is over every order with a receipt.
    """
    vendor_list = list(vendors) if vendors is not None else list(Vendor.objects.all())
    counted = (POStatus.SENT, POStatus.PARTIAL, POStatus.RECEIVED)
    pos = PurchaseOrder.objects.filter(vendor__in=vendor_list, status__in=counted)
    closed = pos.filter(status=POStatus.RECEIVED)
    ordered = dict(
        closed.values("vendor")
        .annotate(total=Sum("lines__quantity_ordered"))
        .values_list("vendor", "total")
    )
    received = dict(
        StockMovement.objects.filter(kind=MovementKind.RECEIPT, po_line__purchase_order__in=closed)
        .values("po_line__purchase_order__vendor")
        .annotate(total=Sum("quantity"))
        .values_list("po_line__purchase_order__vendor", "total")
    )
    counts = dict(pos.values("vendor").annotate(n=Count("id")).values_list("vendor", "n"))
    first_receipts = (
        pos.filter(ordered_on__isnull=False)
        .annotate(first=Min("lines__receipts__at"))
        .filter(first__isnull=False)
        .values_list("vendor", "ordered_on", "first")
    )
    leads: dict[UUID, list[int]] = defaultdict(list)
    for vendor_id, ordered_on, first in first_receipts:
        if ordered_on is not None:
            leads[vendor_id].append((timezone.localdate(first) - ordered_on).days)
    result = []
    for vendor in vendor_list:
        total_ordered = Decimal(ordered.get(vendor.pk) or 0)
        total_received = Decimal(received.get(vendor.pk) or 0)
        fill = (
            (total_received / total_ordered).quantize(Decimal("0.001")) if total_ordered else None
        )
        days = leads.get(vendor.pk)
        lead = (Decimal(sum(days)) / len(days)).quantize(Decimal("0.1")) if days else None
        result.append(
            VendorPerformance(
                vendor=vendor,
                orders=counts.get(vendor.pk, 0),
                ordered=total_ordered,
                received=total_received,
                fill_rate=fill,
                lead_time_days=lead,
            )
        )
    return result


# --- dashboard ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BelowPar:
    level: ItemStockLevel
    on_hand: Decimal

    @property
    def at_or_below_reorder(self) -> bool:
        return self.on_hand <= self.level.reorder_point


def below_par(on: date | None = None) -> list[BelowPar]:
    day = on or timezone.localdate()
    totals = _usable_totals(day)
    result = []
    levels = ItemStockLevel.objects.filter(item__active=True, location__active=True)
    for level in levels.select_related("item", "location"):
        have = totals.get((level.item_id, level.location_id), ZERO)
        if have < level.par_level:
            result.append(BelowPar(level=level, on_hand=have))
    result.sort(
        key=lambda row: (not row.at_or_below_reorder, row.level.location.name, row.level.item.name)
    )
    return result


@dataclass(frozen=True)
class ExpiringLot:
    lot: Lot
    location: StockLocation
    quantity: Decimal


def expiring_lots(*, within_days: int = 60, on: date | None = None) -> list[ExpiringLot]:
    """Lots with stock that expire within ``within_days`` (or already have), soonest first."""
    day = on or timezone.localdate()
    rows = (
        StockMovement.objects.filter(
            lot__isnull=False,
            lot__expiry_date__isnull=False,
            lot__expiry_date__lte=day + timedelta(days=within_days),
        )
        .values("lot", "location")
        .annotate(total=Sum("quantity"))
        .filter(total__gt=0)
        .order_by()
    )
    row_list = [row for row in rows if _exact(row["total"]) > 0]
    lots = Lot.objects.select_related("item").in_bulk([row["lot"] for row in row_list])
    locations = StockLocation.objects.in_bulk([row["location"] for row in row_list])
    result = [
        ExpiringLot(
            lot=lots[row["lot"]],
            location=locations[row["location"]],
            quantity=_exact(row["total"]),
        )
        for row in row_list
    ]
    result.sort(key=lambda row: (row.lot.expiry_date or date.max, row.location.name))
    return result


@dataclass(frozen=True)
class TemplateVariance:
    exam_type_name: str
    item_name: str
    unit: str
    exams: int
    template_per_exam: Decimal
    actual_per_exam: Decimal

    @property
    def variance_pct(self) -> Decimal | None:
        if not self.template_per_exam:
            return None
        change = (self.actual_per_exam - self.template_per_exam) / self.template_per_exam
        return (change * 100).quantize(Decimal("0.1"))


def consumption_vs_template(*, since: date, until: date | None = None) -> list[TemplateVariance]:
    """Per exam type and item: the template's quantity and what exams really used, per exam.

    Counts exams completed in the window that have a supply record (their template was posted);
    a template line nobody adjusted shows 0 % variance, a routinely doubled gel bottle +100 %.
    """
    end = until or timezone.localdate()
    start_dt = _day_start(since)
    end_dt = _day_start(end + timedelta(days=1))
    exams = Exam.objects.filter(
        completed_at__gte=start_dt,
        completed_at__lt=end_dt,
        supply_record__template_applied_at__isnull=False,
    )
    # Counted over "pk IN (the window's exams)": as a plain join grouped by exam type, SQLite
    # walks every order in exam-type order and looks up its exam (the whole history), where
    # this reads the window's exams once and each one's order by key.
    exam_counts: dict[UUID, int] = dict(
        Exam.objects.filter(pk__in=exams.values("pk"))
        .values("order__exam_type")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("order__exam_type", "n")
    )
    used = (
        StockMovement.objects.filter(exam__in=exams)
        .values("exam__order__exam_type", "item")
        .annotate(total=Sum("quantity"))
        .order_by()
    )
    actual: dict[tuple[UUID, UUID], Decimal] = {
        (row["exam__order__exam_type"], row["item"]): -_exact(row["total"]) for row in used
    }
    template_lines = ConsumptionTemplateLine.objects.filter(
        template__active=True, template__exam_type__in=list(exam_counts)
    ).select_related("template__exam_type", "item")
    template: dict[tuple[UUID, UUID], Any] = {
        (line.template.exam_type_id, line.item_id): line for line in template_lines
    }
    items = Item.objects.in_bulk({key[1] for key in actual} | {key[1] for key in template})
    types = ExamType.objects.in_bulk(list(exam_counts))
    result = []
    for key in sorted(set(actual) | set(template)):
        exam_type_id, item_id = key
        n = exam_counts.get(exam_type_id, 0)
        if not n or exam_type_id not in types:
            continue
        line = template.get(key)
        per_template = line.quantity if line is not None else ZERO
        item = items[item_id]
        result.append(
            TemplateVariance(
                exam_type_name=types[exam_type_id].name,
                item_name=item.name,
                unit=item.unit,
                exams=n,
                template_per_exam=per_template,
                actual_per_exam=(actual.get(key, ZERO) / n).quantize(Decimal("0.01")),
            )
        )
    result.sort(key=lambda row: (row.exam_type_name, row.item_name))
    return result


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
