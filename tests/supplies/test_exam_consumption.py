"""Supplies posted when an exam completes, and the sonographer's one-click correction."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from radflow.core.errors import ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.supplies import selectors, services, setup
from radflow.supplies.models import ExamSupplyRecord, MovementKind, StockLocation
from tests.exams.factories import advance, make_exam, ultrasound_room
from tests.supplies.factories import ItemFactory, StoreFactory, probe_covers, receive, room_shelf

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelves(reference: None) -> tuple[object, StockLocation, StockLocation]:
    room = ultrasound_room()
    return room, room_shelf(room), StoreFactory.create(site=room.site)


def in_progress(admin: User, room: object) -> Exam:
    exam = make_exam(ExamState.ARRIVED, by=admin, exam_type="us-transvaginal")
    exam.refresh_from_db()
    if exam.room_id != room.pk:  # type: ignore[attr-defined]
        Exam.objects.filter(pk=exam.pk).update(room=room)
    return advance(Exam.objects.get(pk=exam.pk), ExamState.IN_PROGRESS, by=admin)


def test_completing_an_exam_posts_its_template_from_the_room_shelf(
    admin_user: User, shelves: tuple[object, StockLocation, StockLocation]
) -> None:
    room, shelf, store = shelves
    gel, covers = ItemFactory.create(), probe_covers()
    exam = in_progress(admin_user, room)
    setup.template_set(exam_type=exam.order.exam_type, lines={gel: "0.25", covers: 1})
    receive(gel, shelf, 4)
    receive(covers, store, 10, lot_number="C-1")
    advance(exam, ExamState.COMPLETED, by=admin_user)
    assert selectors.exam_consumption(exam) == {gel.pk: Decimal("0.25"), covers.pk: 1}
    assert selectors.on_hand(gel, shelf) == Decimal("3.75")
    assert selectors.on_hand(covers, store) == 9  # none on the room's shelf: from the store
    moves = exam.supply_movements.all()
    assert {m.kind for m in moves} == {MovementKind.EXAM_USE} and all(
        m.from_template for m in moves
    )
    assert ExamSupplyRecord.objects.get(exam=exam).shortfalls == []


def test_completion_with_an_empty_shelf_still_completes(
    admin_user: User, shelves: tuple[object, StockLocation, StockLocation]
) -> None:
    room, _, _ = shelves
    covers = probe_covers()
    exam = in_progress(admin_user, room)
    setup.template_set(exam_type=exam.order.exam_type, lines={covers: 1})
    advance(exam, ExamState.COMPLETED, by=admin_user)
    exam.refresh_from_db()
    assert exam.state == ExamState.COMPLETED
    assert ExamSupplyRecord.objects.get(exam=exam).shortfalls[0]["name"] == covers.name


def test_one_more_and_not_used_adjust_the_exam_and_the_shelf(
    admin_user: User, technologist: User, shelves: tuple[object, StockLocation, StockLocation]
) -> None:
    room, shelf, _ = shelves
    gel, gown = ItemFactory.create(), ItemFactory.create(name="Patient gown", unit="each")
    exam = in_progress(admin_user, room)
    setup.template_set(exam_type=exam.order.exam_type, lines={gel: "0.5", gown: 1})
    receive(gel, shelf, 4)
    receive(gown, shelf, 20)
    advance(exam, ExamState.COMPLETED, by=admin_user)
    services.exam_supplies_set(exam=exam, by=technologist, quantities={gel: "1.5", gown: 0})
    assert selectors.exam_consumption(exam) == {gel.pk: Decimal("1.5")}
    assert (selectors.on_hand(gel, shelf), selectors.on_hand(gown, shelf)) == (
        Decimal("2.5"),
        Decimal(20),
    )
    record = ExamSupplyRecord.objects.get(exam=exam)
    assert record.adjusted_by == technologist


def test_what_the_sonographer_recorded_before_completion_is_not_posted_again(
    admin_user: User, technologist: User, shelves: tuple[object, StockLocation, StockLocation]
) -> None:
    room, shelf, _ = shelves
    gel, gown = ItemFactory.create(), ItemFactory.create(name="Patient gown", unit="each")
    exam = in_progress(admin_user, room)
    setup.template_set(exam_type=exam.order.exam_type, lines={gel: "0.5", gown: 1})
    receive(gel, shelf, 4)
    receive(gown, shelf, 20)
    services.exam_supplies_set(exam=exam, by=technologist, quantities={gel: 1})
    advance(exam, ExamState.COMPLETED, by=admin_user)
    assert selectors.exam_consumption(exam) == {gel.pk: 1, gown.pk: 1}


def test_supplies_are_not_recorded_on_an_exam_that_has_not_begun(
    admin_user: User, technologist: User, shelves: tuple[object, StockLocation, StockLocation]
) -> None:
    _, shelf, _ = shelves
    gel = ItemFactory.create()
    receive(gel, shelf, 4)
    exam = make_exam(ExamState.SCHEDULED, by=admin_user, exam_type="us-transvaginal")
    with pytest.raises(ValidationFailed):
        services.exam_supplies_set(exam=exam, by=technologist, quantities={gel: 1})
    assert selectors.on_hand(gel, shelf) == 4


def test_an_exam_type_without_a_template_posts_nothing(
    admin_user: User, shelves: tuple[object, StockLocation, StockLocation]
) -> None:
    room, _, _ = shelves
    exam = in_progress(admin_user, room)
    advance(exam, ExamState.COMPLETED, by=admin_user)
    assert not exam.supply_movements.exists()
    assert not ExamSupplyRecord.objects.filter(exam=exam).exists()
