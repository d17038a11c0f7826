"""Supplies test data: vendors, items, locations and stock put on shelves through the services."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from factory.declarations import Sequence, SubFactory
from factory.django import DjangoModelFactory

from radflow.scheduling.models import Room
from radflow.supplies import services, setup
from radflow.supplies.models import (
    Item,
    ItemCategory,
    LocationKind,
    Lot,
    StockLocation,
    StockMovement,
    Vendor,
)
from tests.scheduling.factories import SiteFactory


class VendorFactory(DjangoModelFactory[Vendor]):
    class Meta:
        model = Vendor
        django_get_or_create = ("name",)

    name = Sequence(lambda n: f"{['Medline', 'Parker', 'CIVCO', 'PDI'][n % 4]} Supply {n}")
    account_number = Sequence(lambda n: f"ACCT-{10000 + n}")
    contact_name = "Dana Whitfield"
    contact_phone = "(973) 276-9500"
    contact_email = "orders@vendor.example"
    payment_terms = "Net 30"
    quoted_lead_time_days = 4


class ItemFactory(DjangoModelFactory[Item]):
    class Meta:
        model = Item

    name = Sequence(lambda n: f"Aquasonic 100 gel, 250 mL bottle #{n}")
    category = ItemCategory.GEL_NON_STERILE
    unit = "bottle"
    vendor = SubFactory(VendorFactory)
    catalogue_number = Sequence(lambda n: f"01-{n:04d}")
    unit_price = Decimal("2.10")
    lot_tracked = False


def probe_covers(**kwargs: Any) -> Item:
    values = {
        "name": "Endocavity probe cover, latex-free",
        "category": ItemCategory.PROBE_COVER,
        "unit": "each",
        "unit_price": Decimal("0.95"),
        "lot_tracked": True,
        **kwargs,
    }
    return ItemFactory.create(**values)


class StoreFactory(DjangoModelFactory[StockLocation]):
    class Meta:
        model = StockLocation

    name = Sequence(lambda n: f"Main supply store {n}")
    code = Sequence(lambda n: f"STORE-{n:03d}")
    kind = LocationKind.STORE
    site = SubFactory(SiteFactory)


def room_shelf(room: Room, **kwargs: Any) -> StockLocation:
    return StockLocation.objects.create(
        name=f"{room.name} shelf",
        code=f"SH-{room.code}",
        kind=LocationKind.ROOM,
        site=room.site,
        room=room,
        **kwargs,
    )


def receive(
    item: Item,
    location: StockLocation,
    quantity: Decimal | int | str,
    *,
    lot_number: str = "",
    expires_in_days: int | None = 365,
) -> StockMovement:
    expiry: date | None = None
    if item.lot_tracked or lot_number:
        expiry = (
            timezone.localdate() + timedelta(days=expires_in_days)
            if expires_in_days is not None
            else None
        )
    return services.stock_receive(
        item=item,
        location=location,
        quantity=quantity,
        by=None,
        lot_number=lot_number or ("LOT-A" if item.lot_tracked else ""),
        expiry_date=expiry,
    )


def lot(item: Item, number: str) -> Lot:
    return Lot.objects.get(item=item, lot_number=number)


def level(item: Item, location: StockLocation, par: int, reorder: int) -> None:
    setup.stock_level_set(item=item, location=location, par_level=par, reorder_point=reorder)
