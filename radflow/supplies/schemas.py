"""API shapes for supplies: items, on-hand by location and lot, ledger rows, a manual issue."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from ninja import Field, Schema

from radflow.supplies.models import Item, StockMovement


class ItemOut(Schema):
    id: UUID
    name: str
    category: str
    unit: str
    vendor_id: UUID
    vendor: str
    catalogue_number: str
    unit_price: Decimal
    lot_tracked: bool
    active: bool
    on_hand: Decimal = Field(description="All locations and lots, as the ledger sums them.")

    @staticmethod
    def resolve_vendor(obj: Item) -> str:
        return obj.vendor.name

    @staticmethod
    def resolve_on_hand(obj: Item) -> Decimal:
        return Decimal(getattr(obj, "on_hand", None) or 0)


class OnHandOut(Schema):
    item_id: UUID
    item: str
    unit: str
    location_id: UUID
    location: str
    lot_id: UUID | None
    lot_number: str | None
    expiry_date: date | None
    recalled: bool
    usable: bool = Field(description="False for a recalled lot or one past its expiry date.")
    quantity: Decimal


class MovementOut(Schema):
    id: UUID
    kind: str
    item_id: UUID
    item: str
    location_id: UUID
    location: str
    lot_id: UUID | None
    lot_number: str | None
    quantity: Decimal = Field(description="Signed: positive into the location, negative out.")
    exam_id: UUID | None
    accession_number: str | None
    from_template: bool
    by: str | None
    at: datetime
    reason: str

    @staticmethod
    def resolve_item(obj: StockMovement) -> str:
        return obj.item.name

    @staticmethod
    def resolve_location(obj: StockMovement) -> str:
        return obj.location.name

    @staticmethod
    def resolve_lot_number(obj: StockMovement) -> str | None:
        return obj.lot.lot_number if obj.lot else None

    @staticmethod
    def resolve_accession_number(obj: StockMovement) -> str | None:
        return obj.exam.accession_number if obj.exam else None

    @staticmethod
    def resolve_by(obj: StockMovement) -> str | None:
        return obj.by.get_username() if obj.by else None


class IssueIn(Schema):
    item: UUID
    location: UUID
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    lot_number: str = Field("", max_length=60)
    accession_number: str = Field("", max_length=16, description="Charge the issue to this exam.")
    reason: str = Field("", max_length=200)
