"""Demo data for supplies: vendors, items with prices, a shelf per ultrasound room and a store
per site, par levels sized from each room's own exam volume, and a year of stock simulated day by
day against the exam history (weekly purchase orders with real lead times and short shipments,
daily room restocking from the store, template consumption with the sonographers' adjustments,
monthly cycle counts, expired stock discarded, one lot recalled after exams used it).

The simulation runs in memory and writes the ledger with the exams demo's raw inserts: a year is
a few hundred thousand rows and ``bulk_create`` would dominate the demo's run time.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.core.exam_states import ExamState
from radflow.demo.context import DemoContext
from radflow.exams.demo import Table
from radflow.exams.models import Exam
from radflow.scheduling.models import Room, Site
from radflow.supplies.demo_data import (
    ADJUSTMENTS,
    BASE,
    ITEMS,
    PAUSE_DAYS,
    PAUSED,
    TEMPLATES,
    VENDORS,
)
from radflow.supplies.models import (
    ConsumptionTemplate,
    ConsumptionTemplateLine,
    CycleCount,
    CycleCountLine,
    ExamSupplyRecord,
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

D = Decimal
ZERO = D(0)
CENT = D("0.01")


def _uuid(rng: random.Random, at: datetime) -> uuid.UUID:
    """Time-ordered (version 7) ids: the ledger's index grows at its end."""
    ms = int(at.timestamp() * 1000)
    rand_a, rand_b = rng.getrandbits(12), rng.getrandbits(62)
    return uuid.UUID(int=(ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)


def _id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _q(value: Decimal) -> Decimal:
    return value.quantize(CENT)


@dataclass
class Stock:
    """What is on one shelf of one item: lots first to expire first."""

    lots: list[list[Any]] = field(default_factory=list)  # [lot_id | None, expiry | None, qty]

    def add(self, lot: uuid.UUID | None, expiry: date | None, qty: Decimal) -> None:
        for entry in self.lots:
            if entry[0] == lot:
                entry[2] += qty
                return
        self.lots.append([lot, expiry, qty])
        self.lots.sort(key=lambda e: (e[1] or date.max, str(e[0])))

    def usable(self, day: date, recalled: set[uuid.UUID]) -> Decimal:
        return sum(
            (e[2] for e in self.lots if (e[1] is None or e[1] >= day) and e[0] not in recalled),
            ZERO,
        )

    def take(self, qty: Decimal, day: date, recalled: set[uuid.UUID]) -> list[tuple[Any, Decimal]]:
        taken = []
        for entry in self.lots:
            if qty <= 0:
                break
            if (entry[1] is not None and entry[1] < day) or entry[0] in recalled or entry[2] <= 0:
                continue
            part = min(entry[2], qty)
            entry[2] -= part
            qty -= part
            taken.append((entry[0], part))
        self.lots = [e for e in self.lots if e[2] > 0]
        return taken


class Ledger:
    """The stock movements, written as plain values in one ``executemany`` (SQLite) or ``COPY``
    (PostgreSQL): a year is a quarter of a million rows, and preparing each value through the
    model field (as ``Table`` does) cost more than the insert. Values are converted once here."""

    COLUMNS = (
        "id",
        "kind",
        "item_id",
        "location_id",
        "lot_id",
        "quantity",
        "exam_id",
        "from_template",
        "po_line_id",
        "count_line_id",
        "transfer_group",
        "unit_cost",
        "by_id",
        "at",
        "reason",
    )

    def __init__(self) -> None:
        self.sqlite = connection.vendor == "sqlite"
        self.rows: list[list[Any]] = []
        self.count = 0

    def key(self, value: uuid.UUID | None) -> Any:
        if value is None:
            return None
        return value.hex if self.sqlite else value

    def when(self, value: datetime) -> Any:
        return value.astimezone(UTC).isoformat(" ")[:-6] if self.sqlite else value

    def amount(self, value: Decimal | None) -> Any:
        if value is None:
            return None
        return str(value) if self.sqlite else value

    def flush(self) -> None:
        table = connection.ops.quote_name(StockMovement._meta.db_table)
        fields = {f.attname: f.column for f in StockMovement._meta.concrete_fields}
        names = ", ".join(connection.ops.quote_name(fields[name]) for name in self.COLUMNS)
        with connection.cursor() as cursor:
            if self.sqlite:
                marks = ", ".join(["%s"] * len(self.COLUMNS))
                sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 (from _meta)
                for start in range(0, len(self.rows), 5000):
                    cursor.executemany(sql, self.rows[start : start + 5000])
            else:
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in self.rows:
                        copy.write_row(row)
        self.count += len(self.rows)
        self.rows = []


class Sim:
    def __init__(self, ctx: DemoContext, world: dict[str, Any]) -> None:
        self.ctx = ctx
        self.rng = ctx.random("supplies-sim")
        self.ids = ctx.random("supplies-ids")
        self.zone = timezone.get_current_timezone()
        self.world = world
        self.items: dict[str, Item] = world["items"]
        self.by_id: dict[uuid.UUID, Item] = {i.pk: i for i in self.items.values()}
        self.specs = {s.key: s for s in ITEMS}
        self.key_of = {self.items[s.key].pk: s.key for s in ITEMS}
        self.stock: dict[tuple[uuid.UUID, uuid.UUID], Stock] = defaultdict(Stock)
        self.recalled: set[uuid.UUID] = set()
        self.on_order: dict[tuple[uuid.UUID, uuid.UUID], Decimal] = defaultdict(lambda: ZERO)
        self.pending: dict[date, list[dict[str, Any]]] = defaultdict(list)
        self.movements = Ledger()
        self.keys: dict[uuid.UUID, Any] = {}
        self.lots: list[Lot] = []
        self.lot_count = 0
        self.pos: list[PurchaseOrder] = []
        self.po_lines: list[PurchaseOrderLine] = []
        self.po_received: dict[int, Decimal] = defaultdict(lambda: ZERO)  # by id(line)
        self.po_state: dict[uuid.UUID, dict[str, Any]] = {}
        self.counts: list[CycleCount] = []
        self.count_lines: list[CycleCountLine] = []
        self.records = Table(ExamSupplyRecord)
        self.po_serial: dict[int, int] = defaultdict(int)
        self.coordinator = world["coordinator"]
        self.lot_receipts: dict[uuid.UUID, date] = {}
        self.lot_item: dict[uuid.UUID, uuid.UUID] = {}

    # --- helpers -------------------------------------------------------------------------

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone)

    def move(
        self,
        *,
        kind: str,
        item_id: uuid.UUID,
        location_id: uuid.UUID,
        quantity: Decimal,
        at: datetime,
        lot_id: uuid.UUID | None = None,
        exam_id: uuid.UUID | None = None,
        from_template: bool = False,
        po_line_id: Any = None,
        count_line_id: Any = None,
        transfer_group: uuid.UUID | None = None,
        unit_cost: Decimal | None = None,
        by_id: int | None = None,
        reason: str = "",
    ) -> None:
        ledger = self.movements
        self.movements.rows.append(
            [
                ledger.key(_uuid(self.ids, at)),
                kind,
                self._key(item_id),
                self._key(location_id),
                self._key(lot_id),
                ledger.amount(quantity.quantize(CENT)),
                self._key(exam_id),
                from_template,
                po_line_id,
                count_line_id,
                ledger.key(transfer_group),
                ledger.amount(unit_cost),
                by_id,
                ledger.when(at),
                reason,
            ]
        )

    def _key(self, value: uuid.UUID | None) -> Any:
        if value is None:
            return None
        found = self.keys.get(value)
        if found is None:
            found = self.keys[value] = self.movements.key(value)
        return found

    def new_lot(self, item: Item, day: date, expiry: date | None = None) -> tuple[uuid.UUID, date]:
        spec = self.specs[self.key_of[item.pk]]
        self.lot_count += 1
        prefix = "".join(w[0] for w in spec.vendor.split()[:2]).upper()
        number = f"{prefix}{day:%y%m}-{self.lot_count:05d}"
        expiry = expiry or day + timedelta(days=spec.shelf_life_days - self.rng.randint(30, 200))
        made = timezone.now()
        lot = Lot(
            id=_uuid(self.ids, self.at(day, 9)),
            item=item,
            lot_number=number,
            expiry_date=expiry,
            created_at=made,
            updated_at=made,
        )
        self.lots.append(lot)
        self.lot_receipts[lot.pk] = day
        self.lot_item[lot.pk] = item.pk
        self.world["lot_expiry"][lot.pk] = expiry
        return lot.pk, expiry

    def take(
        self, location: uuid.UUID, item: uuid.UUID, qty: Decimal, day: date
    ) -> list[tuple[Any, Decimal]]:
        return self.stock[(location, item)].take(qty, day, self.recalled)

    # --- a day ---------------------------------------------------------------------------

    def receive_due(self, day: date) -> None:
        for delivery in self.pending.pop(day, []):
            line: PurchaseOrderLine = delivery["line"]
            item = self.by_id[line.item_id]
            store = delivery["store"]
            qty: Decimal = delivery["qty"]
            lot, expiry = (None, None)
            if item.lot_tracked:
                lot, expiry = self.new_lot(item, day)
            self.stock[(store, item.pk)].add(lot, expiry, qty)
            self.on_order[(store, item.pk)] -= qty
            self.po_received[id(line)] += qty
            self.move(
                kind=MovementKind.RECEIPT,
                item_id=item.pk,
                location_id=store,
                lot_id=lot,
                quantity=qty,
                po_line_id=line,
                unit_cost=line.unit_price,
                by_id=self.coordinator,
                at=self.at(day, 10, self.rng.randint(0, 59)),
                reason=f"Received on {delivery['number']}",
            )
            state = self.po_state[line.purchase_order_id]
            state["first"] = state["first"] or day

    def order(self, day: date, today: date) -> None:
        """Monday: each store orders what is at or below its reorder point, by vendor."""
        for store, site_levels in self.world["store_levels"].items():
            wanted: dict[uuid.UUID, list[tuple[Item, Decimal]]] = defaultdict(list)
            for item_id, (par, point) in site_levels.items():
                item = self.by_id[item_id]
                if self.key_of[item_id] in PAUSED and (today - day).days <= PAUSE_DAYS:
                    continue
                have = self.stock[(store, item_id)].usable(day, self.recalled)
                ordered = self.on_order[(store, item_id)]
                if have + ordered > point:
                    continue
                pack = self.specs[self.key_of[item_id]].pack
                qty = par - have - ordered
                packs = (qty / pack).to_integral_value(rounding=ROUND_CEILING)
                if packs > 0:
                    wanted[item.vendor_id].append((item, packs * pack))
            for vendor_id, lines in wanted.items():
                self.place_po(day, today, store, vendor_id, lines)

    def place_po(
        self,
        day: date,
        today: date,
        store: uuid.UUID,
        vendor_id: uuid.UUID,
        lines: list[tuple[Item, Decimal]],
    ) -> None:
        vendor: Vendor = self.world["vendor_by_id"][vendor_id]
        self.po_serial[day.year] += 1
        number = f"PO-{day:%Y}-{self.po_serial[day.year]:05d}"
        made = self.at(day, 8, 30)
        po = PurchaseOrder(
            id=_uuid(self.ids, made),
            number=number,
            vendor_id=vendor_id,
            deliver_to_id=store,
            status=POStatus.SENT,
            ordered_on=day,
            expected_on=day + timedelta(days=vendor.quoted_lead_time_days or 5),
            created_by_id=self.coordinator,
            created_at=made,
            updated_at=made,
        )
        self.pos.append(po)
        self.po_state[po.pk] = {"first": None, "short": False, "lines": []}
        lead = (vendor.quoted_lead_time_days or 5) + self.rng.choice([-1, 0, 0, 0, 1, 1, 2, 3])
        for item, qty in lines:
            line = PurchaseOrderLine(
                purchase_order=po,
                item_id=item.pk,
                quantity_ordered=qty,
                unit_price=item.unit_price,
            )
            self.po_lines.append(line)
            self.po_state[po.pk]["lines"].append(line)
            self.on_order[(store, item.pk)] += qty
            first = qty
            if self.rng.random() < 0.08 and qty >= 2:  # short-shipped: the rest follows or not
                first = (qty / 2).to_integral_value()
                rest = qty - first
                if self.rng.random() < 0.7:
                    later = day + timedelta(days=lead + self.rng.randint(5, 12))
                    self.pending[later].append(
                        {"line": line, "store": store, "qty": rest, "number": number}
                    )
                else:
                    self.po_state[po.pk]["short"] = True
                    self.on_order[(store, item.pk)] -= rest
            self.pending[day + timedelta(days=max(lead, 1))].append(
                {"line": line, "store": store, "qty": first, "number": number}
            )

    def restock_rooms(self, day: date) -> None:
        for room, (store, levels) in self.world["room_levels"].items():
            for item_id, (par, point) in levels.items():
                shelf = self.stock[(room, item_id)]
                have = shelf.usable(day, self.recalled)
                if have > point:
                    continue
                want = (par - have).to_integral_value(rounding=ROUND_CEILING)
                moved = self.take(store, item_id, D(want), day)
                when = self.at(day, 7, 30)
                for lot, qty in moved:
                    group = uuid.UUID(int=self.ids.getrandbits(128))
                    expiry = self.world["lot_expiry"].get(lot) if lot else None
                    shelf.add(lot, expiry, qty)
                    common = {"item_id": item_id, "lot_id": lot, "transfer_group": group}
                    self.move(
                        kind=MovementKind.TRANSFER_OUT,
                        location_id=store,
                        quantity=-qty,
                        at=when,
                        by_id=self.coordinator,
                        reason="Room restock",
                        **common,
                    )
                    self.move(
                        kind=MovementKind.TRANSFER_IN,
                        location_id=room,
                        quantity=qty,
                        at=when,
                        by_id=self.coordinator,
                        reason="Room restock",
                        **common,
                    )

    def consume(self, exam: tuple[Any, ...], template: dict[uuid.UUID, Decimal]) -> None:
        exam_id, completed, room_id, _, user_id = exam
        day = completed.astimezone(self.zone).date()
        room_loc, store = self.world["room_location"][room_id]
        shortfalls = []
        for item_id, qty in template.items():
            remaining = qty
            for location in (room_loc, store):
                if remaining <= 0:
                    break
                for lot, part in self.take(location, item_id, remaining, day):
                    remaining -= part
                    self.move(
                        kind=MovementKind.EXAM_USE,
                        item_id=item_id,
                        location_id=location,
                        lot_id=lot,
                        quantity=-part,
                        exam_id=exam_id,
                        from_template=True,
                        by_id=user_id,
                        at=completed,
                        reason="Exam type template",
                    )
            if remaining > 0:
                item = self.by_id[item_id]
                shortfalls.append(
                    {"item": str(item_id), "name": item.name, "quantity": f"{remaining:f}"}
                )
        adjusted = None
        for key, change, chance in ADJUSTMENTS:
            item_id = self.items[key].pk
            if self.rng.random() >= chance:
                continue
            if change < 0 and item_id not in template:
                continue
            if change > 0 and key == "ecover" and item_id not in template:
                continue
            when = completed + timedelta(minutes=self.rng.randint(1, 20))
            if change > 0:
                for lot, part in self.take(room_loc, item_id, change, day):
                    self.move(
                        kind=MovementKind.EXAM_USE,
                        item_id=item_id,
                        location_id=room_loc,
                        lot_id=lot,
                        quantity=-part,
                        exam_id=exam_id,
                        by_id=user_id,
                        at=when,
                        reason="Adjusted on the exam",
                    )
                    adjusted = when
            else:
                self.stock[(room_loc, item_id)].add(None, None, -change)
                self.move(
                    kind=MovementKind.EXAM_USE,
                    item_id=item_id,
                    location_id=room_loc,
                    quantity=-change,
                    exam_id=exam_id,
                    by_id=user_id,
                    at=when,
                    reason="Not used",
                )
                adjusted = when
        self.records.add(
            exam_id=exam_id,
            template_applied_at=completed,
            location_id=room_loc,
            shortfalls=shortfalls,
            adjusted_by_id=user_id if adjusted else None,
            adjusted_at=adjusted,
        )

    def discard_expired(self, day: date) -> None:
        for (location, item_id), shelf in self.stock.items():
            for entry in list(shelf.lots):
                lot, expiry, qty = entry
                if expiry is not None and expiry < day - timedelta(days=3) and qty > 0:
                    entry[2] = ZERO
                    self.move(
                        kind=MovementKind.DISCARD,
                        item_id=item_id,
                        location_id=location,
                        lot_id=lot,
                        quantity=-qty,
                        by_id=self.coordinator,
                        at=self.at(day, 16, 30),
                        reason="Expired",
                    )
            shelf.lots = [e for e in shelf.lots if e[2] > 0]

    def count(self, day: date) -> None:
        """Monthly: each room shelf's non-lot items, with the small losses counts find."""
        for room, (_, levels) in self.world["room_levels"].items():
            when = self.at(day, 16)
            count = CycleCount(
                id=_uuid(self.ids, when),
                location_id=room,
                counted_at=when,
                counted_by_id=self.coordinator,
                note="Monthly shelf count",
                created_at=when,
                updated_at=when,
            )
            self.counts.append(count)
            for item_id in levels:
                if self.by_id[item_id].lot_tracked:
                    continue
                shelf = self.stock[(room, item_id)]
                expected = sum((e[2] for e in shelf.lots), ZERO)
                counted = expected.to_integral_value()  # part-used bottles count as whole or none
                if self.rng.random() < 0.12 and counted >= 1:
                    counted -= 1
                line = CycleCountLine(
                    count=count,
                    item_id=item_id,
                    lot=None,
                    expected=_q(expected),
                    counted=counted,
                )
                self.count_lines.append(line)
                variance = counted - expected
                if variance:
                    if variance > 0:
                        shelf.add(None, None, variance)
                    else:
                        shelf.take(-variance, date.min, set())
                    self.move(
                        kind=MovementKind.COUNT_ADJUSTMENT,
                        item_id=item_id,
                        location_id=room,
                        quantity=variance,
                        count_line_id=line,
                        by_id=self.coordinator,
                        at=when,
                        reason=f"Cycle count: expected {_q(expected)}, counted {counted}",
                    )

    def recall(self, day: date) -> uuid.UUID | None:
        """The endocavity-cover lot received nearest three months before ``day`` (or the
        oldest, in a shorter history) is recalled; what is left of it is taken off every shelf."""
        cover = self.items["ecover"].pk
        target = day - timedelta(days=90)
        candidates = [  # received a week or more ago, so exams have used it
            lot
            for lot, item in self.lot_item.items()
            if item == cover and self.lot_receipts[lot] <= day - timedelta(days=7)
        ]
        if not candidates:
            return None
        lot = min(candidates, key=lambda lot_id: abs((self.lot_receipts[lot_id] - target).days))
        self.recalled.add(lot)
        for (location, item_id), shelf in self.stock.items():
            if item_id != cover:
                continue
            for entry in shelf.lots:
                if entry[0] == lot and entry[2] > 0:
                    self.move(
                        kind=MovementKind.DISCARD,
                        item_id=cover,
                        location_id=location,
                        lot_id=lot,
                        quantity=-entry[2],
                        by_id=self.coordinator,
                        at=self.at(day, 15),
                        reason="Recalled: seal defect notice",
                    )
                    entry[2] = ZERO
            shelf.lots = [e for e in shelf.lots if e[2] > 0]
        return lot


def generate(ctx: DemoContext) -> None:
    """Vendors, items, locations, levels, templates; then a year of stock, day by day."""
    users = ctx.objects.get("users", {})
    coordinator = users.get("coordinator")
    ids = ctx.random("supplies-master")
    vendors = _vendors(ids)
    items = _items(ids, vendors)
    ctx.objects["supplies.vendors"] = vendors
    ctx.objects["supplies.items"] = items
    locations, room_location = _locations(ids)
    ctx.objects["supplies.locations"] = locations
    templates = _templates(ids, items)
    exams = list(
        Exam.objects.filter(
            room__modality_id="US",
            completed_at__isnull=False,
            state__in=[
                ExamState.COMPLETED,
                ExamState.REPORTED,
                ExamState.SIGNED,
                ExamState.BILLED,
            ],
        )
        .order_by("completed_at", "pk")
        .values_list(
            "id", "completed_at", "room_id", "order__exam_type_id", "technologist__user_id"
        )
    )
    room_levels, store_levels = _levels(exams, templates, room_location, items, ctx.today)
    world = {
        "items": items,
        "vendor_by_id": {v.pk: v for v in vendors.values()},
        "coordinator": coordinator.pk if coordinator else None,
        "room_levels": room_levels,
        "store_levels": store_levels,
        "room_location": room_location,
        "lot_expiry": {},
    }
    sim = Sim(ctx, world)
    _simulate(sim, exams, templates, room_levels, store_levels, ctx.today)
    _finish(sim, ctx, items, locations)


def _vendors(ids: random.Random) -> dict[str, Vendor]:
    made = [
        Vendor(
            id=_id(ids),
            name=name,
            account_number=account,
            contact_name=contact,
            contact_phone=phone,
            contact_email=email,
            ordering_email=email,
            contract_number=contract,
            contract_start=date(2025, 1, 1) if contract else None,
            contract_end=date(2027, 12, 31) if contract else None,
            contract_terms=terms,
            payment_terms=payment,
            quoted_lead_time_days=lead,
        )
        for name, account, contact, phone, email, contract, terms, payment, lead in VENDORS
    ]
    Vendor.objects.bulk_create(made)
    return {v.name: v for v in made}


def _items(ids: random.Random, vendors: dict[str, Vendor]) -> dict[str, Item]:
    made = {
        spec.key: Item(
            id=_id(ids),
            name=spec.name,
            category=spec.category,
            unit=spec.unit,
            vendor=vendors[spec.vendor],
            catalogue_number=spec.catalogue,
            unit_price=D(spec.price),
            lot_tracked=spec.lot_tracked,
        )
        for spec in ITEMS
    }
    Item.objects.bulk_create(made.values())
    return made


def _locations(
    ids: random.Random,
) -> tuple[dict[str, StockLocation], dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]]]:
    """A store per site, a shelf per ultrasound room; room id -> (shelf id, its site's store id)."""
    locations: dict[str, StockLocation] = {}
    for site in Site.objects.order_by("code"):
        locations[f"STORE-{site.code}"] = StockLocation(
            id=_id(ids),
            name=f"{site.name} supply store",
            code=f"STORE-{site.code}",
            kind=LocationKind.STORE,
            site=site,
        )
    rooms = list(Room.objects.filter(modality_id="US").select_related("site").order_by("code"))
    for room in rooms:
        locations[room.code] = StockLocation(
            id=_id(ids),
            name=f"{room.name} shelf",
            code=room.code,
            kind=LocationKind.ROOM,
            site=room.site,
            room=room,
        )
    StockLocation.objects.bulk_create(locations.values())
    room_location = {
        room.pk: (locations[room.code].pk, locations[f"STORE-{room.site.code}"].pk)
        for room in rooms
    }
    return locations, room_location


def _templates(
    ids: random.Random, items: dict[str, Item]
) -> dict[uuid.UUID, dict[uuid.UUID, Decimal]]:
    """exam type id -> {item id: quantity} for every ultrasound exam type."""
    result: dict[uuid.UUID, dict[uuid.UUID, Decimal]] = {}
    templates: list[ConsumptionTemplate] = []
    lines: list[ConsumptionTemplateLine] = []
    for exam_type in ExamType.objects.filter(modality_id="US").order_by("code"):
        wanted = dict(BASE)
        for prefixes, extra in TEMPLATES:
            if exam_type.code.startswith(prefixes):
                wanted.update(extra)
        template = ConsumptionTemplate(id=_id(ids), exam_type=exam_type)
        templates.append(template)
        result[exam_type.pk] = {items[key].pk: D(qty) for key, qty in wanted.items()}
        lines.extend(
            ConsumptionTemplateLine(template=template, item=items[key], quantity=D(qty))
            for key, qty in wanted.items()
        )
    ConsumptionTemplate.objects.bulk_create(templates)
    ConsumptionTemplateLine.objects.bulk_create(lines)
    return result


def _levels(
    exams: list[tuple[Any, ...]],
    templates: dict[uuid.UUID, dict[uuid.UUID, Decimal]],
    room_location: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID]],
    items: dict[str, Item],
    today: date,
) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """Par levels from each room's own volume: a room holds about a week, a store about four."""
    use: dict[tuple[uuid.UUID, uuid.UUID], Decimal] = defaultdict(lambda: ZERO)
    first = exams[0][1].astimezone(UTC).date() if exams else today
    weeks = max(1, min(52, math.ceil((today - first).days / 7)))
    per_type: dict[tuple[uuid.UUID, uuid.UUID], int] = defaultdict(int)
    for _, _, room_id, exam_type_id, _ in exams:
        per_type[(room_id, exam_type_id)] += 1
    for (room_id, exam_type_id), n in sorted(
        per_type.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))
    ):
        if room_id not in room_location:
            continue
        for item_id, qty in templates.get(exam_type_id, {}).items():
            use[(room_location[room_id][0], item_id)] += qty * n
    room_levels: dict[uuid.UUID, tuple[uuid.UUID, dict[uuid.UUID, tuple[Decimal, Decimal]]]] = {}
    store_use: dict[tuple[uuid.UUID, uuid.UUID], Decimal] = defaultdict(lambda: ZERO)
    rows = []
    for shelf, store in room_location.values():
        levels = {}
        for item in items.values():
            weekly = use[(shelf, item.pk)] / weeks
            if weekly <= 0:
                continue
            par = max(D(2), (weekly * D("1.2")).to_integral_value(rounding=ROUND_CEILING))
            point = max(D(1), (weekly * D("0.4")).to_integral_value(rounding=ROUND_CEILING))
            levels[item.pk] = (par, point)
            store_use[(store, item.pk)] += weekly
            rows.append(
                ItemStockLevel(item=item, location_id=shelf, par_level=par, reorder_point=point)
            )
        room_levels[shelf] = (store, levels)
    store_levels: dict[uuid.UUID, dict[uuid.UUID, tuple[Decimal, Decimal]]] = defaultdict(dict)
    for (store, item_id), weekly in sorted(
        store_use.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))
    ):
        par = max(D(6), (weekly * 4).to_integral_value(rounding=ROUND_CEILING))
        point = max(D(3), (weekly * 2).to_integral_value(rounding=ROUND_CEILING))
        store_levels[store][item_id] = (par, point)
        rows.append(
            ItemStockLevel(item_id=item_id, location_id=store, par_level=par, reorder_point=point)
        )
    ItemStockLevel.objects.bulk_create(rows)
    return room_levels, dict(store_levels)


def _simulate(
    sim: Sim,
    exams: list[tuple[Any, ...]],
    templates: dict[uuid.UUID, dict[uuid.UUID, Decimal]],
    room_levels: dict[Any, Any],
    store_levels: dict[Any, Any],
    today: date,
) -> None:
    zone = sim.zone
    start = (exams[0][1].astimezone(zone).date() if exams else today) - timedelta(days=14)
    # Opening stock: each store at par, each room at par, received two weeks before the history.
    for store, levels in store_levels.items():
        for item_id, (par, _) in levels.items():
            item = sim.by_id[item_id]
            lot, expiry = sim.new_lot(item, start) if item.lot_tracked else (None, None)
            sim.stock[(store, item_id)].add(lot, expiry, par * 2)
            sim.move(
                kind=MovementKind.RECEIPT,
                item_id=item_id,
                location_id=store,
                lot_id=lot,
                quantity=par * 2,
                unit_cost=item.unit_price,
                by_id=sim.coordinator,
                at=sim.at(start, 9),
                reason="Opening stock",
            )
    recall_day = today - timedelta(days=9)
    by_day: dict[date, list[tuple[Any, ...]]] = defaultdict(list)
    for exam in exams:
        if exam[2] in sim.world["room_location"]:
            by_day[exam[1].astimezone(zone).date()].append(exam)
    day = start
    while day <= today:
        sim.receive_due(day)
        if day.weekday() == 0:
            sim.order(day, today)
        sim.restock_rooms(day)
        for exam in by_day.get(day, []):
            sim.consume(exam, templates.get(exam[3], {}))
        if day.weekday() == 4:
            sim.discard_expired(day)
        if day.day <= 7 and day.weekday() == 2 and day > start + timedelta(days=20):
            sim.count(day)
        if day == recall_day:
            sim.world["recalled_lot"] = sim.recall(day)
        day += timedelta(days=1)


def _finish(
    sim: Sim, ctx: DemoContext, items: dict[str, Item], locations: dict[str, StockLocation]
) -> None:
    """Write everything; then the few lots a dashboard should show: near expiry, expired."""
    today = ctx.today
    rng = ctx.random("supplies-extras")
    # A sterile-gel lot about to expire, and a spinal-needle lot already expired, on shelves.
    rooms = sorted(code for code, loc in locations.items() if loc.kind == LocationKind.ROOM)
    extras = [
        (
            "sgel",
            rooms[0] if rooms else None,
            today + timedelta(days=18),
            D(36),
            today - timedelta(days=200),
        ),
        (
            "needle",
            rooms[-1] if rooms else None,
            today - timedelta(days=4),
            D(5),
            today - timedelta(days=700),
        ),
        (
            "skit",
            rooms[len(rooms) // 2] if rooms else None,
            today + timedelta(days=41),
            D(6),
            today - timedelta(days=300),
        ),
    ]
    for key, code, expiry, qty, received in extras:
        if code is None:
            continue
        lot, _ = sim.new_lot(items[key], received, expiry)
        sim.move(
            kind=MovementKind.RECEIPT,
            item_id=items[key].pk,
            location_id=locations[code].pk,
            lot_id=lot,
            quantity=qty,
            unit_cost=items[key].unit_price,
            by_id=sim.coordinator,
            at=sim.at(received, 11, rng.randint(0, 59)),
            reason="Transferred from main hospital",
        )
    recalled = sim.world.get("recalled_lot")
    recall_at = sim.at(today - timedelta(days=9), 14, 40)
    for made in sim.lots:
        if made.pk == recalled:
            made.recalled_at = recall_at.astimezone(UTC)
            made.recall_reason = (
                "CIVCO field safety notice FSN-2026-014: seal defect in lot may compromise the "
                "barrier. Quarantine and return remaining stock; identify patients examined."
            )
            made.recalled_by_id = sim.coordinator
    Lot.objects.bulk_create(sim.lots, batch_size=500)
    # Purchase-order status from what arrived.
    for po in sim.pos:
        state = sim.po_state[po.pk]
        ordered = sum((line.quantity_ordered for line in state["lines"]), ZERO)
        got = sum((sim.po_received[id(line)] for line in state["lines"]), ZERO)
        if got >= ordered:
            po.status = POStatus.RECEIVED
        elif state["short"] and got > 0 and po.ordered_on and (today - po.ordered_on).days > 21:
            po.status = POStatus.RECEIVED
            po.notes = "Closed short: the rest was back-ordered and then discontinued."
        elif got > 0:
            po.status = POStatus.PARTIAL
        if po.status == POStatus.RECEIVED:
            po.closed_at = po.created_at + timedelta(days=10)
    PurchaseOrder.objects.bulk_create(sim.pos, batch_size=500)
    PurchaseOrderLine.objects.bulk_create(sim.po_lines, batch_size=1000)
    CycleCount.objects.bulk_create(sim.counts, batch_size=500)
    CycleCountLine.objects.bulk_create(sim.count_lines, batch_size=1000)
    for row in sim.movements.rows:  # the lines have their ids now
        if row[8] is not None:
            row[8] = row[8].pk
        if row[9] is not None:
            row[9] = row[9].pk
    sim.movements.flush()
    sim.records.flush()
    ctx.log(
        f"  {len(sim.pos)} purchase orders, {len(sim.lots)} lots, {sim.movements.count} stock "
        f"movements, {sim.records.count} exams with supplies"
    )
