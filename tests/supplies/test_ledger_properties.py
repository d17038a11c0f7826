"""Property: over any sequence of receipts, template consumption, adjustments, manual issues
and counts, on-hand at every location and lot is what a simple model of the shelves says, and
the whole equals receipts - issues +/- counted variance. Refusals change nothing."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radflow.core.errors import ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.supplies import selectors, services, setup
from radflow.supplies.models import ExamSupplyRecord, Item, Lot, StockLocation
from tests.exams.factories import ultrasound_room
from tests.orders.factories import make_order
from tests.supplies.factories import ItemFactory, StoreFactory, probe_covers, room_shelf

pytestmark = pytest.mark.django_db

LOTS = 3  # lot i expires after lot i-1: first-expiring-first means lowest index first
EXAMS = 4
amounts = st.sampled_from([Decimal("0.5"), Decimal(1), Decimal(2), Decimal(3), Decimal(7)])
location_index = st.integers(0, 1)  # 0: the exam room's shelf, 1: the store
lot_index = st.integers(0, LOTS - 1)

operations = st.lists(
    st.one_of(
        st.tuples(st.just("receive"), location_index, lot_index, amounts),
        st.tuples(st.just("issue"), location_index, st.none() | lot_index, amounts),
        st.tuples(st.just("template"), st.integers(0, EXAMS - 1)),
        st.tuples(st.just("one_more"), st.integers(0, EXAMS - 1)),
        st.tuples(st.just("count"), location_index, lot_index, st.integers(0, 12).map(Decimal)),
    ),
    max_size=25,
)


@dataclass
class Department:
    room_shelf: StockLocation
    store: StockLocation
    exams: list[Exam]


@pytest.fixture
def department(reference: None) -> Department:
    room = ultrasound_room()
    shelf = room_shelf(room)
    store = StoreFactory.create(site=room.site)
    exams = []
    for _ in range(EXAMS):
        exam = make_order().exam
        Exam.objects.filter(pk=exam.pk).update(
            room=room, state=ExamState.COMPLETED, completed_at=timezone.now()
        )
        exam.refresh_from_db()
        exams.append(exam)
    return Department(room_shelf=shelf, store=store, exams=exams)


@dataclass
class Model:
    """The shelves as the rules describe them: (location, lot index) -> quantity."""

    lot_tracked: bool
    shelves: dict[tuple[int, int | None], Decimal] = field(default_factory=dict)
    received: Decimal = Decimal(0)
    issued: Decimal = Decimal(0)
    variance: Decimal = Decimal(0)
    used: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    applied: set[int] = field(default_factory=set)
    #: Exams whose sonographer recorded the item before completion: the template leaves it.
    touched: set[int] = field(default_factory=set)

    def key(self, location: int, lot: int | None) -> tuple[int, int | None]:
        return (location, lot if self.lot_tracked else None)

    def have(self, location: int, lot: int | None) -> Decimal:
        return self.shelves.get(self.key(location, lot), Decimal(0))

    def lots(self) -> list[int | None]:
        return list(range(LOTS)) if self.lot_tracked else [None]

    def draw(self, amount: Decimal) -> Decimal:
        """Room shelf first, then the store; first-expiring lot first. Returns what was taken."""
        remaining = amount
        for location in (0, 1):
            for lot in self.lots():
                take = min(self.have(location, lot), remaining)
                if take > 0:
                    self.shelves[self.key(location, lot)] = self.have(location, lot) - take
                    remaining -= take
        return amount - remaining


def test_on_hand_always_equals_receipts_minus_issues_plus_counted_variance(
    department: Department,
) -> None:
    @settings(
        max_examples=30,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(ops=operations, lot_tracked=st.booleans(), per_exam=amounts)
    def run(ops: list[tuple[Any, ...]], lot_tracked: bool, per_exam: Decimal) -> None:
        item = probe_covers() if lot_tracked else ItemFactory.create()
        exam_type = department.exams[0].order.exam_type
        setup.template_set(exam_type=exam_type, lines={item: per_exam})
        ExamSupplyRecord.objects.filter(exam__in=department.exams).delete()
        locations = [department.room_shelf, department.store]
        lots = [f"{item.pk.hex[:8]}-{index}" for index in range(LOTS)]
        model = Model(lot_tracked=lot_tracked)

        def lot_row(index: int | None) -> Lot | None:
            if not lot_tracked or index is None:
                return None
            return Lot.objects.filter(item=item, lot_number=lots[index]).first()

        for op in ops:
            name = op[0]
            if name == "receive":
                _, where, index, amount = op
                services.stock_receive(
                    item=item,
                    location=locations[where],
                    quantity=amount,
                    by=None,
                    lot_number=lots[index] if lot_tracked else "",
                    expiry_date=timezone.localdate() + timedelta(days=100 + 30 * index)
                    if lot_tracked
                    else None,
                )
                model.shelves[model.key(where, index)] = model.have(where, index) + amount
                model.received += amount
            elif name == "issue":
                _, where, index, amount = op
                if lot_tracked and index is not None and lot_row(index) is None:
                    continue  # a lot never received cannot be named
                if index is None and lot_tracked:  # the first-expiring lot that holds it all
                    chosen = next((i for i in model.lots() if model.have(where, i) >= amount), None)
                    allowed = chosen is not None
                else:
                    chosen = index
                    allowed = model.have(where, index) >= amount
                try:
                    services.stock_issue(
                        item=item,
                        location=locations[where],
                        quantity=amount,
                        by=None,
                        lot=lot_row(index),
                    )
                except ValidationFailed:
                    assert not allowed, f"refused an issue the model allows: {op}"
                else:
                    assert allowed, f"allowed an issue the model refuses: {op}"
                    key = model.key(where, chosen)
                    model.shelves[key] = model.have(where, chosen) - amount
                    model.issued += amount
            elif name == "template":
                exam = department.exams[op[1]]
                services.exam_supplies_apply(exam=exam)
                if op[1] not in model.applied and op[1] in model.touched:
                    model.applied.add(op[1])
                elif op[1] not in model.applied:
                    model.applied.add(op[1])
                    taken = model.draw(per_exam)
                    model.issued += taken
                    model.used[op[1]] += taken
                    record = ExamSupplyRecord.objects.get(exam=exam)
                    short = per_exam - taken
                    assert [Decimal(s["quantity"]) for s in record.shortfalls] == (
                        [short] if short else []
                    )
            elif name == "one_more":
                exam = department.exams[op[1]]
                target = model.used[op[1]] + 1
                possible = sum((model.have(w, i) for w in (0, 1) for i in model.lots()), Decimal(0))
                try:
                    services.exam_supplies_set(exam=exam, by=None, quantities={item: target})
                except ValidationFailed:
                    assert possible < 1, f"refused one more with {possible} on the shelves"
                else:
                    assert possible >= 1
                    model.touched.add(op[1])
                    model.draw(Decimal(1))
                    model.issued += 1
                    model.used[op[1]] += 1
            else:
                _, where, index, counted = op
                if lot_tracked and lot_row(index) is None:
                    continue  # a lot never received cannot be counted
                services.cycle_count_record(
                    location=locations[where],
                    by=None,
                    lines=[services.CountInput(item=item, lot=lot_row(index), counted=counted)],
                )
                model.variance += counted - model.have(where, index)
                model.shelves[model.key(where, index)] = counted

            for where, location in enumerate(locations):
                for index in model.lots():
                    expected = model.have(where, index)
                    if index is not None and lot_row(index) is None:
                        assert expected == 0
                        continue
                    assert selectors.on_hand(item, location, lot_row(index)) == expected, op
            total = sum((selectors.on_hand(item, location) for location in locations), Decimal(0))
            assert total == model.received - model.issued + model.variance
            assert total >= 0
            for number, exam in enumerate(department.exams):
                assert (
                    selectors.exam_consumption(exam).get(item.pk, Decimal(0)) == model.used[number]
                )

    run()


def test_a_template_never_blocks_completion_and_records_the_shortfall(
    department: Department,
) -> None:
    gel = ItemFactory.create()
    exam = department.exams[0]
    setup.template_set(exam_type=exam.order.exam_type, lines={gel: 2})
    services.stock_receive(item=gel, location=department.store, quantity="0.5", by=None)
    record = services.exam_supplies_apply(exam=exam)
    assert record is not None
    assert record.shortfalls == [{"item": str(gel.pk), "name": gel.name, "quantity": "1.50"}]
    assert selectors.exam_consumption(exam) == {gel.pk: Decimal("0.5")}
    assert Item.objects.get(pk=gel.pk).movements.count() == 2
