"""/api/supplies: items, on-hand by location and lot, the ledger, and a manual issue (a barcode
scanner at the shelf, a cabinet integration). Same services and role checks as the pages."""

# No ``from __future__ import annotations``: ninja reads these signatures at run time, and
# ``@paginate`` wraps them in its own module, where string annotations would not resolve.

import datetime as dt
from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet, Sum
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Status
from ninja.pagination import paginate

from radflow.accounts.api_auth import requires
from radflow.api_pagination import LimitOffsetPagination
from radflow.core.errors import ValidationFailed
from radflow.db import get_or_not_found
from radflow.exams.models import Exam
from radflow.supplies import services
from radflow.supplies.models import (
    Item,
    ItemCategory,
    Lot,
    MovementKind,
    StockLocation,
    StockMovement,
)
from radflow.supplies.schemas import IssueIn, ItemOut, MovementOut, OnHandOut

router = Router(tags=["supplies"])


@router.get("/items", response=list[ItemOut], auth=requires("supplies.view_item"))
@paginate(LimitOffsetPagination)
def list_items(
    request: HttpRequest,
    q: str | None = None,
    category: ItemCategory | None = None,
    active: bool | None = True,
) -> Any:
    rows: QuerySet[Item] = (
        Item.objects.select_related("vendor")
        .annotate(on_hand=Sum("movements__quantity"))
        .order_by("name", "id")
    )
    if q:
        rows = rows.filter(Q(name__icontains=q) | Q(catalogue_number__icontains=q))
    if category is not None:
        rows = rows.filter(category=category)
    if active is not None:
        rows = rows.filter(active=active)
    return rows


@router.get("/items/{item_id}", response=ItemOut, auth=requires("supplies.view_item"))
def get_item(request: HttpRequest, item_id: UUID) -> Any:
    rows = Item.objects.select_related("vendor").annotate(on_hand=Sum("movements__quantity"))
    return get_or_not_found(rows, pk=item_id, label="item")


@router.get(
    "/on-hand",
    response=list[OnHandOut],
    auth=requires("supplies.view_item"),
    summary="What is on each shelf, by item, location and lot",
)
def on_hand(request: HttpRequest, item: UUID | None = None, location: UUID | None = None) -> Any:
    rows = StockMovement.objects.all()
    if item is not None:
        rows = rows.filter(item_id=item)
    if location is not None:
        rows = rows.filter(location_id=location)
    totals = (
        rows.values("item", "location", "lot")
        .annotate(total=Sum("quantity"))
        .filter(total__gt=0)
        .order_by()
    )
    found = list(totals)
    items = Item.objects.in_bulk({row["item"] for row in found})
    locations = StockLocation.objects.in_bulk({row["location"] for row in found})
    lots = Lot.objects.in_bulk({row["lot"] for row in found if row["lot"]})
    today = timezone.localdate()
    result = []
    for row in found:
        lot = lots.get(row["lot"]) if row["lot"] else None
        expired = lot is not None and lot.expiry_date is not None and lot.expiry_date < today
        recalled = lot is not None and lot.recalled_at is not None
        result.append(
            {
                "item_id": row["item"],
                "item": items[row["item"]].name,
                "unit": items[row["item"]].unit,
                "location_id": row["location"],
                "location": locations[row["location"]].name,
                "lot_id": lot.pk if lot else None,
                "lot_number": lot.lot_number if lot else None,
                "expiry_date": lot.expiry_date if lot else None,
                "recalled": recalled,
                "usable": not (expired or recalled),
                "quantity": row["total"],
            }
        )
    result.sort(key=lambda r: (r["location"], r["item"], r["expiry_date"] or dt.date.max))
    return result


@router.get("/movements", response=list[MovementOut], auth=requires("supplies.view_stockmovement"))
@paginate(LimitOffsetPagination)
def list_movements(
    request: HttpRequest,
    item: UUID | None = None,
    location: UUID | None = None,
    kind: MovementKind | None = None,
    accession_number: str | None = None,
    since: dt.date | None = None,
) -> Any:
    rows = StockMovement.objects.select_related("item", "location", "lot", "exam", "by").order_by(
        "-at", "id"
    )
    if item is not None:
        rows = rows.filter(item_id=item)
    if location is not None:
        rows = rows.filter(location_id=location)
    if kind is not None:
        rows = rows.filter(kind=kind)
    if accession_number:
        rows = rows.filter(exam__accession_number=accession_number)
    if since is not None:
        rows = rows.filter(at__date__gte=since)
    return rows


@router.post(
    "/issues",
    response={201: MovementOut},
    auth=requires("supplies.record_consumption"),
    summary="Take stock off a shelf, for an exam or not",
)
def create_issue(request: HttpRequest, payload: IssueIn) -> Any:
    item = get_or_not_found(Item.objects.all(), pk=payload.item, label="item")
    location = get_or_not_found(StockLocation.objects.all(), pk=payload.location, label="location")
    lot = None
    if payload.lot_number.strip():
        lot = Lot.objects.filter(item=item, lot_number=payload.lot_number.strip()).first()
        if lot is None:
            raise ValidationFailed({"lot_number": [f"No lot {payload.lot_number} of {item.name}."]})
    exam = None
    if payload.accession_number.strip():
        exam = Exam.objects.filter(accession_number=payload.accession_number.strip()).first()
        if exam is None:
            raise ValidationFailed(
                {"accession_number": [f"No exam has accession {payload.accession_number}."]}
            )
    movement = services.stock_issue(
        item=item,
        location=location,
        quantity=payload.quantity,
        by=request.user,
        exam=exam,
        lot=lot,
        reason=payload.reason,
    )
    return Status(201, movement)
