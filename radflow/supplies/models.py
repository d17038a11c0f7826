"""Supplies: vendors, items, where they are kept, lots, and the stock ledger.

Stock is never stored as a number that code updates: it is the sum of an append-only ledger
(``StockMovement``), so on-hand at any location and lot can always be explained row by row, and a
recall can name every exam that drew from a lot. Par levels and reorder points are per item and
location; purchase orders, cycle counts and per-exam consumption templates feed the same ledger.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from radflow.audit.models import AppendOnlyError
from radflow.catalog.models import ExamType
from radflow.db import UUIDModel
from radflow.exams.models import Exam
from radflow.scheduling.models import Room, Site

ZERO = Decimal("0")


class Vendor(UUIDModel):
    """A supplier with its contract: who to call, what was agreed, the account to quote."""

    name = models.CharField(max_length=120, unique=True)
    account_number = models.CharField(max_length=40, blank=True)
    contact_name = models.CharField(max_length=120, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    ordering_email = models.EmailField(blank=True, help_text="Where purchase orders are sent.")
    address = models.TextField(blank=True)
    contract_number = models.CharField(max_length=40, blank=True)
    contract_start = models.DateField(null=True, blank=True)
    contract_end = models.DateField(null=True, blank=True)
    contract_terms = models.TextField(
        blank=True, help_text="Pricing, minimum order, freight, returns: what was agreed."
    )
    payment_terms = models.CharField(max_length=40, blank=True, help_text="e.g. Net 30.")
    quoted_lead_time_days = models.PositiveSmallIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ItemCategory(models.TextChoices):
    GEL_STERILE = "gel_sterile", "Gel, sterile"
    GEL_NON_STERILE = "gel_non_sterile", "Gel, non-sterile"
    PROBE_COVER = "probe_cover", "Probe cover"
    NEEDLE_GUIDE = "needle_guide", "Needle / needle guide"
    LINEN = "linen", "Linen"
    WIPES = "wipes", "Wipes"
    PRINTER_MEDIA = "printer_media", "Printer media"
    CONTRAST = "contrast", "Contrast agent"
    DISINFECTANT = "disinfectant", "Disinfectant"
    OTHER = "other", "Other"


class Item(UUIDModel):
    """One stocked product, counted in ``unit`` (bottle, box, each, mL, vial)."""

    name = models.CharField(max_length=160)
    category = models.CharField(max_length=20, choices=ItemCategory.choices)
    unit = models.CharField(max_length=20, help_text="What one counted unit is: bottle, box, each.")
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="items")
    catalogue_number = models.CharField(max_length=60, blank=True)
    unit_price = models.DecimalField(
        validators=[MinValueValidator(ZERO)],
        default=ZERO,
        help_text="Per unit.",
        max_digits=12,
        decimal_places=2,
    )
    lot_tracked = models.BooleanField(
        default=False, help_text="Every receipt and issue names a lot (sterile, contrast, needles)."
    )
    active = models.BooleanField(default=True)
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "catalogue_number"],
                condition=~Q(catalogue_number=""),
                name="supplies_item_vendor_catalogue_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name


class LocationKind(models.TextChoices):
    ROOM = "room", "Exam room"
    STORE = "store", "Store"


class StockLocation(UUIDModel):
    """Where stock is kept: an exam room's shelf (linked to its ``Room``) or a store."""

    name = models.CharField(max_length=80)
    code = models.CharField(max_length=24, unique=True)
    kind = models.CharField(max_length=8, choices=LocationKind.choices)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="stock_locations")
    room = models.OneToOneField(
        Room,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stock_location",
        help_text="Set for an exam room's shelf: exams in this room draw from it.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["site__name", "kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="store") | Q(room__isnull=False),
                name="supplies_location_room_kind_has_room",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Lot(UUIDModel):
    """A manufacturer's lot of an item; expiry and recall are facts of the lot."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(max_length=60)
    expiry_date = models.DateField(null=True, blank=True)
    recalled_at = models.DateTimeField(null=True, blank=True)
    recall_reason = models.TextField(blank=True)
    recalled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["expiry_date", "lot_number"]
        constraints = [
            models.UniqueConstraint(fields=["item", "lot_number"], name="supplies_lot_unique")
        ]
        permissions = [("recall_lot", "Can mark a lot recalled")]

    def __str__(self) -> str:
        return f"{self.item} lot {self.lot_number}"

    @property
    def is_recalled(self) -> bool:
        return self.recalled_at is not None


class ItemStockLevel(models.Model):
    """Par and reorder point of an item at a location: below the point, order up to par."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="stock_levels")
    location = models.ForeignKey(
        StockLocation, on_delete=models.CASCADE, related_name="stock_levels"
    )
    par_level = models.DecimalField(
        validators=[MinValueValidator(ZERO)], max_digits=12, decimal_places=2
    )
    reorder_point = models.DecimalField(
        validators=[MinValueValidator(ZERO)], max_digits=12, decimal_places=2
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["location", "item"]
        constraints = [
            models.UniqueConstraint(fields=["item", "location"], name="supplies_level_unique"),
            models.CheckConstraint(
                condition=Q(reorder_point__lte=models.F("par_level")),
                name="supplies_level_reorder_le_par",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} at {self.location}: par {self.par_level}"


class POStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SENT = "sent", "Sent"
    PARTIAL = "partial", "Partly received"
    RECEIVED = "received", "Received"
    CANCELLED = "cancelled", "Cancelled"


class PurchaseOrder(UUIDModel):
    number = models.CharField(max_length=24, unique=True)
    vendor = models.ForeignKey(Vendor, on_delete=models.PROTECT, related_name="purchase_orders")
    deliver_to = models.ForeignKey(
        StockLocation, on_delete=models.PROTECT, related_name="purchase_orders"
    )
    status = models.CharField(max_length=12, choices=POStatus.choices, default=POStatus.DRAFT)
    ordered_on = models.DateField(null=True, blank=True, help_text="Set when the PO is sent.")
    expected_on = models.DateField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(
        PurchaseOrder, on_delete=models.CASCADE, related_name="lines"
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="po_lines")
    quantity_ordered = models.DecimalField(
        validators=[MinValueValidator(ZERO)], max_digits=12, decimal_places=2
    )
    unit_price = models.DecimalField(
        validators=[MinValueValidator(ZERO)], max_digits=12, decimal_places=2
    )

    class Meta:
        ordering = ["purchase_order", "item__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "item"], name="supplies_po_line_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity_ordered} x {self.item}"


class CycleCount(UUIDModel):
    """One counting of a location's shelf; each line keeps what the ledger expected."""

    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="counts")
    counted_at = models.DateTimeField()
    counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-counted_at"]

    def __str__(self) -> str:
        return f"Count of {self.location} at {self.counted_at:%Y-%m-%d %H:%M}"


class CycleCountLine(models.Model):
    count = models.ForeignKey(CycleCount, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    expected = models.DecimalField(max_digits=12, decimal_places=2)
    counted = models.DecimalField(
        validators=[MinValueValidator(ZERO)], max_digits=12, decimal_places=2
    )

    class Meta:
        ordering = ["count", "item__name"]

    def __str__(self) -> str:
        return f"{self.item}: counted {self.counted}, expected {self.expected}"

    @property
    def variance(self) -> Decimal:
        return self.counted - self.expected


class MovementKind(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    EXAM_USE = "exam_use", "Used in exam"
    MANUAL_ISSUE = "manual_issue", "Manual issue"
    COUNT_ADJUSTMENT = "count_adjustment", "Count adjustment"
    TRANSFER_OUT = "transfer_out", "Transfer out"
    TRANSFER_IN = "transfer_in", "Transfer in"
    DISCARD = "discard", "Discarded (expired, damaged, recalled)"


class StockMovement(models.Model):
    """One line of the append-only stock ledger; ``quantity`` is signed (+ in, - out).

    Rows are never updated or deleted: a correction is a new row. ``exam`` is set for what an
    exam consumed (template, one-click adjustment, or a manual issue against it).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=MovementKind.choices)
    # Indexes are chosen for a ledger of millions of rows: every index costs each insert, so
    # a foreign key that the composite index covers, or that is mostly empty, gets none (or a
    # partial one) instead of Django's default index per foreign key.
    item = models.ForeignKey(
        Item, on_delete=models.PROTECT, related_name="movements", db_index=False
    )
    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="movements")
    lot = models.ForeignKey(
        Lot,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="movements",
        db_index=False,
    )
    quantity = models.DecimalField(max_digits=12, decimal_places=2)
    exam = models.ForeignKey(
        Exam, on_delete=models.PROTECT, null=True, blank=True, related_name="supply_movements"
    )
    from_template = models.BooleanField(
        default=False, help_text="Posted from the exam type's consumption template."
    )
    po_line = models.ForeignKey(
        PurchaseOrderLine,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="receipts",
        db_index=False,
    )
    count_line = models.ForeignKey(
        CycleCountLine,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    #: Both rows of a transfer share it.
    transfer_group = models.UUIDField(null=True, blank=True)
    unit_cost = models.DecimalField(null=True, blank=True, max_digits=12, decimal_places=2)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [
            # On-hand sums ``quantity`` per (item, location, lot): with the quantity in the
            # index those sums read the index alone, never the ledger's rows.
            models.Index(
                fields=["item", "location", "lot", "quantity"], name="supplies_mv_balance_idx"
            ),
            # What exams used (the dashboard's template variance): per exam, the item and
            # quantity, read from the index alone.
            models.Index(
                fields=["exam", "item", "quantity"],
                condition=Q(exam__isnull=False),
                name="supplies_mv_exam_use_idx",
            ),
            models.Index(
                fields=["lot"], condition=Q(lot__isnull=False), name="supplies_mv_lot_idx"
            ),
            models.Index(
                fields=["po_line"], condition=Q(po_line__isnull=False), name="supplies_mv_po_idx"
            ),
            models.Index(fields=["at"], name="supplies_mv_at_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="supplies_mv_nonzero"),
        ]
        permissions = [
            ("record_consumption", "Can record and adjust supplies used in exams, issue by hand"),
            ("manage_stock", "Can receive, count, transfer and discard stock"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity} {self.item}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("stock movements cannot be changed; post a correcting movement")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("stock movements cannot be deleted; post a correcting movement")


class ConsumptionTemplate(UUIDModel):
    """What an exam of this type normally uses; posted when the exam completes."""

    exam_type = models.OneToOneField(
        ExamType, on_delete=models.CASCADE, related_name="consumption_template"
    )
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["exam_type__name"]

    def __str__(self) -> str:
        return f"Supplies for {self.exam_type}"


class ConsumptionTemplateLine(models.Model):
    template = models.ForeignKey(
        ConsumptionTemplate, on_delete=models.CASCADE, related_name="lines"
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="template_lines")
    quantity = models.DecimalField(
        validators=[MinValueValidator(Decimal("0.01"))], max_digits=12, decimal_places=2
    )

    class Meta:
        ordering = ["template", "item__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "item"], name="supplies_template_line_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.item}"


class ExamSupplyRecord(models.Model):
    """Marks that an exam's template was posted, and what could not be drawn from stock.

    Completing an exam never waits on the shelf: what the ledger could not cover is kept in
    ``shortfalls`` ([{"item": id, "name": ..., "quantity": "1"}]) for the coordinator to count.
    An item the sonographer already recorded on the exam is left to their figure.
    """

    exam = models.OneToOneField(Exam, on_delete=models.CASCADE, related_name="supply_record")
    #: Empty while only the sonographer has recorded supplies (the exam is still going on).
    template_applied_at = models.DateTimeField(null=True, blank=True)
    location = models.ForeignKey(
        StockLocation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    shortfalls = models.JSONField(default=list, blank=True)
    adjusted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    adjusted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Supplies of {self.exam_id}"
