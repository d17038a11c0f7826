"""Writes: the stock ledger (receive, issue, transfer, discard, count), lots and recalls.

Every public function is one transaction. Quantities are ``Decimal`` (units of the item: bottles,
boxes, each, mL). Bad input raises ``ValidationFailed`` naming the field before anything is
written. Issues lock the item's row first, so two people issuing the last box at once cannot
both succeed (PostgreSQL ``SELECT ... FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` write lock).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import Max, Sum
from django.urls import reverse
from django.utils import timezone

from radflow.core.errors import ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.core.roles import Role
from radflow.exams.models import Exam
from radflow.notifications.services import notify
from radflow.supplies import selectors
from radflow.supplies.models import (
    ZERO,
    ConsumptionTemplate,
    CycleCount,
    CycleCountLine,
    ExamSupplyRecord,
    Item,
    Lot,
    MovementKind,
    PurchaseOrderLine,
    StockLocation,
    StockMovement,
)

Quantity = Decimal | int | str
#: Who acts: a signed-in user, or nobody (an interface, the demo, a system step).
By = User | AnonymousUser | None
MAX_QUANTITY = Decimal("1000000")


def _raise(errors: dict[str, list[str]]) -> None:
    if errors:
        raise ValidationFailed(errors)


def _user(by: By) -> User | None:
    return by if isinstance(by, User) and by.is_authenticated else None


def parse_quantity(
    value: Quantity,
    errors: dict[str, list[str]],
    *,
    field: str = "quantity",
    allow_zero: bool = False,
) -> Decimal:
    """A positive quantity with at most two decimals, or an error under ``field``."""
    try:
        quantity = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors[field] = [f"“{value}” is not a quantity."]
        return ZERO
    if not quantity.is_finite():
        errors[field] = [f"“{value}” is not a quantity."]
        return ZERO
    if quantity < 0 or (quantity == 0 and not allow_zero):
        errors[field] = [
            "Enter a quantity above zero." if not allow_zero else "Enter zero or more."
        ]
    elif quantity >= MAX_QUANTITY:
        errors[field] = ["That quantity is too large."]
    elif quantity != quantity.quantize(Decimal("0.01")):
        errors[field] = ["Use at most two decimals."]
    return quantity


def _lock_item(item: Item) -> None:
    Item.objects.select_for_update().filter(pk=item.pk).first()


def _check_lot_belongs(item: Item, lot: Lot | None, errors: dict[str, list[str]]) -> None:
    if lot is not None and lot.item_id != item.pk:
        errors["lot"] = [f"Lot {lot.lot_number} is not a lot of {item.name}."]


def _when(at: datetime | None) -> datetime:
    return at or timezone.now()


# --- receiving ---------------------------------------------------------------------------------


@transaction.atomic
def lot_get_or_create(*, item: Item, lot_number: str, expiry_date: date | None) -> Lot:
    """The lot of ``item`` with this number, made on first receipt; a later receipt that
    states a different expiry is refused (two expiries on one lot is a labelling error)."""
    number = lot_number.strip()
    errors: dict[str, list[str]] = {}
    if not number:
        errors["lot_number"] = [f"{item.name} is lot-tracked: enter the lot number."]
    elif len(number) > 60:
        errors["lot_number"] = ["A lot number has at most 60 characters."]
    _raise(errors)
    lot, created = Lot.objects.get_or_create(
        item=item, lot_number=number, defaults={"expiry_date": expiry_date}
    )
    if not created and expiry_date is not None and lot.expiry_date not in (None, expiry_date):
        raise ValidationFailed(
            {
                "expiry_date": [
                    f"Lot {number} is on file expiring {lot.expiry_date:%Y-%m-%d}, "
                    f"not {expiry_date:%Y-%m-%d}. Check the label."
                ]
            }
        )
    if not created and lot.expiry_date is None and expiry_date is not None:
        lot.expiry_date = expiry_date
        lot.save(update_fields=["expiry_date", "updated_at"])
    return lot


@transaction.atomic
def stock_receive(
    *,
    item: Item,
    location: StockLocation,
    quantity: Quantity,
    by: By,
    lot: Lot | None = None,
    lot_number: str = "",
    expiry_date: date | None = None,
    unit_cost: Decimal | None = None,
    po_line: PurchaseOrderLine | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> StockMovement:
    """Put stock on a shelf. A lot-tracked item needs ``lot`` or ``lot_number`` (the lot is
    created on first receipt). A recalled or already expired lot is refused at the door."""
    errors: dict[str, list[str]] = {}
    amount = parse_quantity(quantity, errors)
    when = _when(at)
    if not location.active:
        errors["location"] = [f"{location.name} is not in use."]
    if po_line is not None and po_line.item_id != item.pk:
        errors["item"] = ["The item is not on that purchase-order line."]
    _check_lot_belongs(item, lot, errors)
    _raise(errors)
    if lot is None and (item.lot_tracked or lot_number.strip()):
        lot = lot_get_or_create(item=item, lot_number=lot_number, expiry_date=expiry_date)
    if lot is not None:
        problem = selectors.lot_problem(lot, timezone.localdate(when))
        if problem:
            raise ValidationFailed({"lot_number": [problem + " Do not put it on the shelf."]})
    movement = StockMovement(
        kind=MovementKind.RECEIPT,
        item=item,
        location=location,
        lot=lot,
        quantity=amount,
        po_line=po_line,
        unit_cost=unit_cost if unit_cost is not None else item.unit_price,
        by=_user(by),
        at=when,
        reason=reason.strip()[:200],
    )
    movement.save()
    return movement


# --- issuing -----------------------------------------------------------------------------------


def _pick_lot(item: Item, location: StockLocation, amount: Decimal, day: date) -> Lot:
    """First-expiring usable lot holding ``amount`` (FEFO)."""
    for lot, have in selectors.lots_on_hand(item, location, usable_on=day):
        if have >= amount:
            return lot
    raise ValidationFailed(
        {
            "lot": [
                f"No usable lot of {item.name} at {location.name} has {amount} {item.unit} on "
                "hand. Choose the lot, or issue from another location."
            ]
        }
    )


def _issue(
    *,
    kind: MovementKind,
    item: Item,
    location: StockLocation,
    amount: Decimal,
    by: By,
    exam: Exam | None,
    lot: Lot | None,
    reason: str,
    when: datetime,
    from_template: bool = False,
    allow_unusable: bool = False,
    transfer_group: uuid.UUID | None = None,
) -> StockMovement:
    """One outgoing row, after the checks every issue shares; the caller holds the lock."""
    day = timezone.localdate(when)
    if item.lot_tracked and lot is None:
        lot = _pick_lot(item, location, amount, day)
    if lot is not None and not allow_unusable:
        problem = selectors.lot_problem(lot, day)
        if problem:
            raise ValidationFailed({"lot": [problem]})
    have = selectors.on_hand(item, location, lot)
    if amount > have:
        where = f"lot {lot.lot_number} at {location.name}" if lot else location.name
        raise ValidationFailed(
            {
                "quantity": [
                    f"Only {have.normalize():f} {item.unit} of {item.name} on hand in {where}; "
                    f"cannot issue {amount.normalize():f}."
                ]
            }
        )
    movement = StockMovement(
        kind=kind,
        item=item,
        location=location,
        lot=lot,
        quantity=-amount,
        exam=exam,
        from_template=from_template,
        transfer_group=transfer_group,
        by=_user(by),
        at=when,
        reason=reason.strip()[:200],
    )
    movement.save()
    return movement


@transaction.atomic
def stock_issue(
    *,
    item: Item,
    location: StockLocation,
    quantity: Quantity,
    by: By,
    exam: Exam | None = None,
    lot: Lot | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> StockMovement:
    """Take stock off a shelf: for an exam (``exam_use``) or by hand (``manual_issue``).

    A lot-tracked item without ``lot`` draws from the first-expiring usable lot that holds the
    whole quantity. Refused, with a ``ValidationFailed`` naming the field: a recalled lot, an
    expired lot, a lot of another item, and more than is on hand (at that lot when given).
    """
    errors: dict[str, list[str]] = {}
    amount = parse_quantity(quantity, errors)
    _check_lot_belongs(item, lot, errors)
    if not item.active:
        errors["item"] = [f"{item.name} is no longer stocked."]
    _raise(errors)
    _lock_item(item)
    return _issue(
        kind=MovementKind.EXAM_USE if exam is not None else MovementKind.MANUAL_ISSUE,
        item=item,
        location=location,
        amount=amount,
        by=by,
        exam=exam,
        lot=lot,
        reason=reason,
        when=_when(at),
    )


@transaction.atomic
def stock_return(
    *,
    item: Item,
    location: StockLocation,
    quantity: Quantity,
    by: By,
    exam: Exam,
    lot: Lot | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> StockMovement:
    """Give back to the shelf what an exam was charged but did not use (never more than it
    was charged of that item and lot)."""
    errors: dict[str, list[str]] = {}
    amount = parse_quantity(quantity, errors)
    _check_lot_belongs(item, lot, errors)
    _raise(errors)
    charged = -selectors._sum(
        StockMovement.objects.filter(exam=exam, item=item, location=location, lot=lot)
    )
    if amount > charged:
        raise ValidationFailed(
            {
                "quantity": [
                    f"The exam was charged {charged.normalize():f} {item.unit} of {item.name} "
                    f"from {location.name}; cannot return {amount.normalize():f}."
                ]
            }
        )
    movement = StockMovement(
        kind=MovementKind.EXAM_USE,
        item=item,
        location=location,
        lot=lot,
        quantity=amount,
        exam=exam,
        by=_user(by),
        at=_when(at),
        reason=(reason.strip() or "Not used")[:200],
    )
    movement.save()
    return movement


@transaction.atomic
def stock_transfer(
    *,
    item: Item,
    from_location: StockLocation,
    to_location: StockLocation,
    quantity: Quantity,
    by: By,
    lot: Lot | None = None,
    reason: str = "",
    at: datetime | None = None,
) -> tuple[StockMovement, StockMovement]:
    """Move stock between locations (a store restocking a room's shelf): two rows, one group."""
    errors: dict[str, list[str]] = {}
    amount = parse_quantity(quantity, errors)
    _check_lot_belongs(item, lot, errors)
    if from_location.pk == to_location.pk:
        errors["to_location"] = ["Choose a different location to move the stock to."]
    if not to_location.active:
        errors["to_location"] = [f"{to_location.name} is not in use."]
    _raise(errors)
    _lock_item(item)
    when = _when(at)
    group = uuid.uuid4()
    out = _issue(
        kind=MovementKind.TRANSFER_OUT,
        item=item,
        location=from_location,
        amount=amount,
        by=by,
        exam=None,
        lot=lot,
        reason=reason or f"To {to_location.name}",
        when=when,
        transfer_group=group,
    )
    incoming = StockMovement(
        kind=MovementKind.TRANSFER_IN,
        item=item,
        location=to_location,
        lot=out.lot,
        quantity=amount,
        transfer_group=group,
        by=_user(by),
        at=when,
        reason=(reason.strip() or f"From {from_location.name}")[:200],
    )
    incoming.save()
    return out, incoming


@transaction.atomic
def stock_discard(
    *,
    item: Item,
    location: StockLocation,
    quantity: Quantity,
    by: By,
    reason: str,
    lot: Lot | None = None,
    at: datetime | None = None,
) -> StockMovement:
    """Take expired, damaged or recalled stock off the shelf (the one issue an unusable lot
    may have); the reason is required."""
    errors: dict[str, list[str]] = {}
    amount = parse_quantity(quantity, errors)
    _check_lot_belongs(item, lot, errors)
    if not reason.strip():
        errors["reason"] = ["Say why the stock is discarded (expired, damaged, recalled)."]
    if item.lot_tracked and lot is None:
        errors["lot"] = [f"{item.name} is lot-tracked: choose the lot to discard."]
    _raise(errors)
    _lock_item(item)
    return _issue(
        kind=MovementKind.DISCARD,
        item=item,
        location=location,
        amount=amount,
        by=by,
        exam=None,
        lot=lot,
        reason=reason,
        when=_when(at),
        allow_unusable=True,
    )


# --- counting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountInput:
    """One counted shelf position: an item (and lot, for a lot-tracked item) and what is there."""

    item: Item
    counted: Quantity
    lot: Lot | None = None


@transaction.atomic
def cycle_count_record(
    *,
    location: StockLocation,
    by: By,
    lines: Sequence[CountInput],
    note: str = "",
    at: datetime | None = None,
) -> CycleCount:
    """Record a count of a location: each line keeps what the ledger expected, and a variance
    posts one ``count_adjustment`` movement so on-hand equals what was counted.

    A lot-tracked item is counted per lot; the same item and lot twice in one count is refused.
    """
    errors: dict[str, list[str]] = {}
    if not lines:
        errors["lines"] = ["Count at least one item."]
    seen: set[tuple[object, object]] = set()
    parsed: list[tuple[CountInput, Decimal]] = []
    for index, line in enumerate(lines):
        field = f"lines.{index}.counted"
        amount = parse_quantity(line.counted, errors, field=field, allow_zero=True)
        _check_lot_belongs(line.item, line.lot, errors)
        if line.item.lot_tracked and line.lot is None:
            errors[f"lines.{index}.lot"] = [f"{line.item.name} is lot-tracked: count each lot."]
        key = (line.item.pk, line.lot.pk if line.lot else None)
        if key in seen:
            errors[field] = [f"{line.item.name} is counted twice."]
        seen.add(key)
        parsed.append((line, amount))
    _raise(errors)
    when = _when(at)
    user = _user(by)
    count = CycleCount.objects.create(
        location=location, counted_at=when, counted_by=user, note=note.strip()
    )
    for item_id in sorted({str(line.item.pk) for line, _ in parsed}):
        Item.objects.select_for_update().filter(pk=item_id).first()
    for line, amount in parsed:
        expected = selectors.on_hand(line.item, location, line.lot)
        if not line.item.lot_tracked and line.lot is None:
            expected = selectors.on_hand(line.item, location)
        count_line = CycleCountLine.objects.create(
            count=count, item=line.item, lot=line.lot, expected=expected, counted=amount
        )
        variance = amount - expected
        if variance:
            StockMovement(
                kind=MovementKind.COUNT_ADJUSTMENT,
                item=line.item,
                location=location,
                lot=line.lot,
                quantity=variance,
                count_line=count_line,
                by=user,
                at=when,
                reason=f"Cycle count: expected {expected.normalize():f}, "
                f"counted {amount.normalize():f}",
            ).save()
    return count


# --- recalls -----------------------------------------------------------------------------------


@transaction.atomic
def lot_recall(*, lot: Lot, by: By, reason: str) -> Lot:
    """Mark a lot recalled: it can no longer be received or issued (only discarded), and the
    coordinators and infection preventionists are told, with a link to the exams that used it.

    The change is kept in the lot's history (who, when); reading the exposed patients is
    audited where it is shown.
    """
    text = reason.strip()
    errors: dict[str, list[str]] = {}
    if not text:
        errors["reason"] = ["Give the recall reason (the manufacturer's notice)."]
    elif len(text) > 2000:
        errors["reason"] = ["Keep the reason under 2,000 characters."]
    locked = Lot.objects.select_for_update().select_related("item").get(pk=lot.pk)
    if locked.recalled_at is not None:
        day = timezone.localdate(locked.recalled_at)
        errors["lot"] = [f"Lot {locked.lot_number} was already recalled on {day:%Y-%m-%d}."]
    _raise(errors)
    locked.recalled_at = timezone.now()
    locked.recall_reason = text
    locked.recalled_by = _user(by)
    locked._change_reason = "recall"  # type: ignore[attr-defined]  # simple_history
    locked.save(update_fields=["recalled_at", "recall_reason", "recalled_by", "updated_at"])
    exposed = selectors.exams_using_lot(locked).count()
    recipients = User.objects.filter(
        groups__name__in=[Role.COORDINATOR.value, Role.INFECTION_PREVENTIONIST.value],
        is_active=True,
    ).distinct()
    notify(
        recipients=recipients,
        kind="supply_recall",
        title=f"Recall: {locked.item.name} lot {locked.lot_number} ({exposed} exams used it)",
        body=text,
        url=reverse("supplies:recall", args=[locked.pk]),
    )
    lot.recalled_at, lot.recall_reason, lot.recalled_by = (
        locked.recalled_at,
        locked.recall_reason,
        locked.recalled_by,
    )
    return locked


# --- what an exam used --------------------------------------------------------------------------


def _draw(
    *,
    item: Item,
    locations: Sequence[StockLocation],
    amount: Decimal,
    by: By,
    exam: Exam,
    when: datetime,
    from_template: bool,
    reason: str,
) -> tuple[list[StockMovement], Decimal]:
    """Take ``amount`` for an exam from its locations in order, usable lots first-expiring
    first; returns the movements and what could not be found on any shelf."""
    day = timezone.localdate(when)
    remaining = amount
    made: list[StockMovement] = []
    for location in locations:
        if remaining <= 0:
            break
        if item.lot_tracked:
            sources: list[tuple[Lot | None, Decimal]] = list(
                selectors.lots_on_hand(item, location, usable_on=day)
            )
        else:
            sources = [(None, selectors.usable_on_hand(item, location, day))]
        for lot, have in sources:
            take = min(have, remaining)
            if take <= 0:
                continue
            movement = StockMovement(
                kind=MovementKind.EXAM_USE,
                item=item,
                location=location,
                lot=lot,
                quantity=-take,
                exam=exam,
                from_template=from_template,
                by=_user(by),
                at=when,
                reason=reason,
            )
            movement.save()
            made.append(movement)
            remaining -= take
            if remaining <= 0:
                break
    return made, remaining


@transaction.atomic
def exam_supplies_apply(
    *, exam: Exam, by: By = None, at: datetime | None = None
) -> ExamSupplyRecord | None:
    """Post the exam type's consumption template for a completed exam, once.

    Called by ``exams.services.exam_complete``. It never refuses: the exam is done whatever the
    shelf says, so what no location could cover is kept on the record as a shortfall (the
    shelf needs counting) instead of blocking completion. An item the sonographer already
    recorded on the exam (while it was in progress) keeps their figure. Returns ``None`` when
    the exam type has no active template.
    """
    existing = ExamSupplyRecord.objects.filter(exam=exam).first()
    if existing is not None and existing.template_applied_at is not None:
        return existing
    template = (
        ConsumptionTemplate.objects.filter(exam_type_id=exam.order.exam_type_id, active=True)
        .prefetch_related("lines__item")
        .first()
    )
    if template is None:
        return None
    when = at or exam.completed_at or timezone.now()
    locations = selectors.exam_stock_locations(exam)
    recorded = set(StockMovement.objects.filter(exam=exam).values_list("item_id", flat=True))
    shortfalls = []
    for line in template.lines.all():
        if not line.item.active or line.item_id in recorded:
            continue
        _lock_item(line.item)
        _, missing = _draw(
            item=line.item,
            locations=locations,
            amount=line.quantity,
            by=by,
            exam=exam,
            when=when,
            from_template=True,
            reason="Exam type template",
        )
        if missing > 0:
            shortfalls.append(
                {"item": str(line.item.pk), "name": line.item.name, "quantity": f"{missing:f}"}
            )
    record = existing or ExamSupplyRecord(exam=exam)
    record.template_applied_at = when
    record.location = locations[0] if locations else None
    record.shortfalls = shortfalls
    record.save()
    return record


ADJUSTABLE_STATES = frozenset(
    {
        ExamState.IN_PROGRESS,
        ExamState.COMPLETED,
        ExamState.DISCONTINUED,
        ExamState.REPORTED,
        ExamState.SIGNED,
        ExamState.BILLED,
    }
)


@transaction.atomic
def exam_supplies_set(
    *,
    exam: Exam,
    by: By,
    quantities: Mapping[Item, Quantity],
    reason: str = "",
) -> list[StockMovement]:
    """Make what the exam is charged of each given item equal to ``quantities`` (the
    sonographer's one-click correction of the template): more draws from the exam's locations,
    less returns to where it was drawn, latest first. Items not given are left alone.
    """
    if ExamState(exam.state) not in ADJUSTABLE_STATES:
        raise ValidationFailed(
            {"exam": ["Supplies are recorded once the exam has begun."]},
        )
    errors: dict[str, list[str]] = {}
    targets: list[tuple[Item, Decimal]] = []
    for item, value in quantities.items():
        amount = parse_quantity(value, errors, field=f"item-{item.pk}", allow_zero=True)
        targets.append((item, amount))
    _raise(errors)
    current = selectors.exam_consumption(exam)
    locations = selectors.exam_stock_locations(exam)
    when = timezone.now()
    note = (reason.strip() or "Adjusted on the exam")[:200]
    made: list[StockMovement] = []
    for item, target in targets:
        delta = target - current.get(item.pk, ZERO)
        if delta == 0:
            continue
        _lock_item(item)
        if delta > 0:
            if not item.active:
                raise ValidationFailed({f"item-{item.pk}": [f"{item.name} is no longer stocked."]})
            drawn, missing = _draw(
                item=item,
                locations=locations,
                amount=delta,
                by=by,
                exam=exam,
                when=when,
                from_template=False,
                reason=note,
            )
            if missing > 0:
                raise ValidationFailed(
                    {
                        f"item-{item.pk}": [
                            f"Only {delta - missing:f} more {item.unit} of {item.name} on the "
                            "exam's shelves; record the rest after restocking or counting."
                        ]
                    }
                )
            made.extend(drawn)
        else:
            made.extend(
                _give_back(item=item, exam=exam, amount=-delta, by=by, when=when, note=note)
            )
    record, _ = ExamSupplyRecord.objects.get_or_create(
        exam=exam, defaults={"location": locations[0] if locations else None}
    )
    record.adjusted_by = _user(by)
    record.adjusted_at = when
    record.save(update_fields=["adjusted_by", "adjusted_at"])
    return made


def _give_back(
    *,
    item: Item,
    exam: Exam,
    amount: Decimal,
    by: By,
    when: datetime,
    note: str,
) -> list[StockMovement]:
    """Return ``amount`` of what the exam drew, to the location and lot it came from."""
    rows = (
        StockMovement.objects.filter(exam=exam, item=item)
        .values("location", "lot")
        .annotate(total=Sum("quantity"), last=Max("at"))
        .filter(total__lt=0)
        .order_by("-last")
    )
    made = []
    remaining = amount
    for row in rows:
        take = min(-Decimal(row["total"]), remaining)
        movement = StockMovement(
            kind=MovementKind.EXAM_USE,
            item=item,
            location_id=row["location"],
            lot_id=row["lot"],
            quantity=take,
            exam=exam,
            by=_user(by),
            at=when,
            reason=note,
        )
        movement.save()
        made.append(movement)
        remaining -= take
        if remaining <= 0:
            break
    return made
