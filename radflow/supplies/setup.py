"""Writes: the supplies master data the coordinator keeps — vendors, items, locations, par
levels and reorder points, and the consumption template of each exam type.

Each function is one transaction and validates with the model's own rules (``full_clean``),
turned into ``ValidationFailed`` so forms and the API show them the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction

from radflow.catalog.models import ExamType
from radflow.core.errors import ValidationFailed
from radflow.supplies.models import (
    ConsumptionTemplate,
    ConsumptionTemplateLine,
    Item,
    ItemCategory,
    ItemStockLevel,
    StockLocation,
    Vendor,
)
from radflow.supplies.services import Quantity, parse_quantity

M = TypeVar("M", bound=models.Model)


def _clean_save(instance: M) -> M:
    try:
        instance.full_clean()
    except ValidationError as error:
        raise ValidationFailed(
            {key: [str(m) for m in messages] for key, messages in error.message_dict.items()}
        ) from error
    instance.save()
    return instance


def _assign(instance: M, fields: Mapping[str, Any], allowed: set[str]) -> M:
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationFailed({name: ["Not a field that can be set here."] for name in unknown})
    for name, value in fields.items():
        setattr(instance, name, value.strip() if isinstance(value, str) else value)
    return instance


VENDOR_FIELDS = {
    "name",
    "account_number",
    "contact_name",
    "contact_email",
    "contact_phone",
    "ordering_email",
    "address",
    "contract_number",
    "contract_start",
    "contract_end",
    "contract_terms",
    "payment_terms",
    "quoted_lead_time_days",
    "active",
    "notes",
}
ITEM_FIELDS = {
    "name",
    "category",
    "unit",
    "vendor",
    "catalogue_number",
    "unit_price",
    "lot_tracked",
    "active",
    "notes",
}
LOCATION_FIELDS = {"name", "code", "kind", "site", "room", "active"}


@transaction.atomic
def vendor_save(*, vendor: Vendor | None = None, **fields: Any) -> Vendor:
    target = _assign(vendor or Vendor(), fields, VENDOR_FIELDS)
    start, end = target.contract_start, target.contract_end
    if start and end and end < start:
        raise ValidationFailed({"contract_end": ["The contract ends before it starts."]})
    return _clean_save(target)


@transaction.atomic
def item_save(*, item: Item | None = None, **fields: Any) -> Item:
    target = _assign(item or Item(), fields, ITEM_FIELDS)
    if target.category == ItemCategory.CONTRAST and not target.lot_tracked:
        raise ValidationFailed({"lot_tracked": ["Contrast agents are always lot-tracked."]})
    if item is not None and item.pk and "lot_tracked" in fields:
        had_lots = item.lots.exists()
        if had_lots and not target.lot_tracked:
            raise ValidationFailed(
                {"lot_tracked": ["This item has lots on file; it stays lot-tracked."]}
            )
    return _clean_save(target)


@transaction.atomic
def location_save(*, location: StockLocation | None = None, **fields: Any) -> StockLocation:
    target = _assign(location or StockLocation(), fields, LOCATION_FIELDS)
    if target.kind == "store":
        target.room = None
    elif target.room is not None and target.room.site_id != target.site_id:
        raise ValidationFailed({"room": ["The room is on another site."]})
    return _clean_save(target)


@transaction.atomic
def stock_level_set(
    *, item: Item, location: StockLocation, par_level: Quantity, reorder_point: Quantity
) -> ItemStockLevel | None:
    """Set par and reorder point; par 0 and reorder 0 removes the level (not stocked there)."""
    errors: dict[str, list[str]] = {}
    par = parse_quantity(par_level, errors, field="par_level", allow_zero=True)
    point = parse_quantity(reorder_point, errors, field="reorder_point", allow_zero=True)
    if not errors and point > par:
        errors["reorder_point"] = ["The reorder point must not be above par."]
    if errors:
        raise ValidationFailed(errors)
    if par == 0 and point == 0:
        ItemStockLevel.objects.filter(item=item, location=location).delete()
        return None
    level, _ = ItemStockLevel.objects.update_or_create(
        item=item, location=location, defaults={"par_level": par, "reorder_point": point}
    )
    return level


@transaction.atomic
def template_set(
    *, exam_type: ExamType, lines: Mapping[Item, Quantity], active: bool = True
) -> ConsumptionTemplate:
    """Replace an exam type's template with ``lines`` (quantity 0 or blank leaves an item out).

    Contrast is never on a template: the dose is recorded by the contrast administration.
    """
    errors: dict[str, list[str]] = {}
    wanted: list[tuple[Item, Decimal]] = []
    for item, value in lines.items():
        if str(value).strip() == "":
            continue
        amount = parse_quantity(value, errors, field=f"item-{item.pk}", allow_zero=True)
        if item.category == ItemCategory.CONTRAST and amount:
            errors[f"item-{item.pk}"] = ["Contrast is recorded with the administration."]
        if amount:
            wanted.append((item, amount))
    if errors:
        raise ValidationFailed(errors)
    template, _ = ConsumptionTemplate.objects.update_or_create(
        exam_type=exam_type, defaults={"active": active}
    )
    template.lines.all().delete()
    ConsumptionTemplateLine.objects.bulk_create(
        ConsumptionTemplateLine(template=template, item=item, quantity=amount)
        for item, amount in wanted
    )
    return template
