"""Recalls: a recalled lot lists exactly the exams that used it, with their patients (the read
audited), tells the coordinators, and the lot can no longer be used."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from radflow.audit.models import AccessLog
from radflow.core.errors import ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.notifications.models import Notification
from radflow.supplies import selectors, services
from radflow.supplies.models import Lot, StockLocation
from tests.conftest import client_for
from tests.exams.factories import ultrasound_room
from tests.orders.factories import make_order
from tests.supplies.factories import lot, probe_covers, receive, room_shelf

pytestmark = pytest.mark.django_db


def performed(room: object) -> Exam:
    exam = make_order().exam
    Exam.objects.filter(pk=exam.pk).update(
        room=room, state=ExamState.COMPLETED, completed_at=timezone.now()
    )
    return Exam.objects.select_related("order__patient").get(pk=exam.pk)


@pytest.fixture
def exposure(reference: None) -> dict[str, object]:
    """Five exams: two used lot BAD, one took BAD back unused, one used GOOD, one nothing."""
    room = ultrasound_room()
    shelf = room_shelf(room)
    covers = probe_covers()
    receive(covers, shelf, 20, lot_number="BAD", expires_in_days=200)
    receive(covers, shelf, 20, lot_number="GOOD", expires_in_days=300)
    bad, good = lot(covers, "BAD"), lot(covers, "GOOD")
    exams = [performed(room) for _ in range(5)]
    used_bad_1, used_bad_2, returned, used_good, _ = exams
    for exam in (used_bad_1, used_bad_2):
        services.stock_issue(item=covers, location=shelf, quantity=1, by=None, exam=exam, lot=bad)
    services.stock_issue(item=covers, location=shelf, quantity=1, by=None, exam=returned, lot=bad)
    services.stock_return(item=covers, location=shelf, quantity=1, by=None, exam=returned, lot=bad)
    services.stock_issue(item=covers, location=shelf, quantity=2, by=None, exam=used_good, lot=good)
    return {"bad": bad, "exposed": {used_bad_1.pk, used_bad_2.pk}, "exams": exams, "shelf": shelf}


def test_the_recall_lists_exactly_the_exams_that_used_the_lot(exposure: dict[str, object]) -> None:
    found = {exam.pk for exam in selectors.exams_using_lot(exposure["bad"])}  # type: ignore[arg-type]
    assert found == exposure["exposed"]


def test_recalling_marks_the_lot_and_tells_coordinators_and_infection_control(
    exposure: dict[str, object], coordinator: User, user_for_role: object
) -> None:
    from radflow.core.roles import Role

    preventionist = user_for_role(Role.INFECTION_PREVENTIONIST)  # type: ignore[operator]
    bad: Lot = exposure["bad"]  # type: ignore[assignment]
    services.lot_recall(lot=bad, by=coordinator, reason="CIVCO FSN-2026-014: seal defect")
    bad.refresh_from_db()
    assert bad.recalled_at is not None and bad.recalled_by == coordinator
    notes = Notification.objects.filter(kind="supply_recall")
    assert set(notes.values_list("recipient", flat=True)) == {coordinator.pk, preventionist.pk}
    assert "(2 exams used it)" in notes.first().title  # type: ignore[union-attr]
    assert bad.history.filter(history_change_reason="recall").exists()


def test_a_lot_cannot_be_recalled_twice_or_without_a_reason(
    exposure: dict[str, object], coordinator: User
) -> None:
    bad: Lot = exposure["bad"]  # type: ignore[assignment]
    with pytest.raises(ValidationFailed) as caught:
        services.lot_recall(lot=bad, by=coordinator, reason="  ")
    assert "reason" in caught.value.errors
    services.lot_recall(lot=bad, by=coordinator, reason="Seal defect")
    with pytest.raises(ValidationFailed) as caught:
        services.lot_recall(lot=bad, by=coordinator, reason="Again")
    assert "already recalled" in caught.value.errors["lot"][0]


def test_the_recall_page_shows_the_patients_and_audits_the_read(
    exposure: dict[str, object], coordinator: User
) -> None:
    bad: Lot = exposure["bad"]  # type: ignore[assignment]
    services.lot_recall(lot=bad, by=coordinator, reason="Seal defect")
    response = client_for(coordinator).get(reverse("supplies:recall", args=[bad.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    exams: list[Exam] = exposure["exams"]  # type: ignore[assignment]
    for exam in exams:
        shown = exam.order.patient.display_name in html
        assert shown == (exam.pk in exposure["exposed"]), exam  # type: ignore[operator]
    audited = set(
        AccessLog.objects.filter(action="supplies.recall_exposure").values_list(
            "patient_id", flat=True
        )
    )
    assert audited == {e.order.patient_id for e in exams if e.pk in exposure["exposed"]}  # type: ignore[operator]
    assert "18 each" in html  # what is still on the shelf, to discard


def test_recalling_from_the_page(exposure: dict[str, object], coordinator: User) -> None:
    bad: Lot = exposure["bad"]  # type: ignore[assignment]
    client = client_for(coordinator)
    response = client.post(
        reverse("supplies:recall_mark", args=[bad.pk]), {"reason": "FSN-2026-014"}
    )
    assert response.status_code == 302
    bad.refresh_from_db()
    assert bad.recall_reason == "FSN-2026-014"


@pytest.mark.parametrize("role", ["technologist", "biomed", "stranger"])
def test_who_may_not_see_the_exposed_patients(
    exposure: dict[str, object], role: str, request: pytest.FixtureRequest
) -> None:
    user: User = request.getfixturevalue(role)
    bad: Lot = exposure["bad"]  # type: ignore[assignment]
    response = client_for(user).get(reverse("supplies:recall", args=[bad.pk]))
    assert response.status_code == 403
    assert not AccessLog.objects.filter(action="supplies.recall_exposure").exists()


def test_only_the_coordinator_may_recall(exposure: dict[str, object], director: User) -> None:
    bad: Lot = exposure["bad"]  # type: ignore[assignment]
    response = client_for(director).post(
        reverse("supplies:recall_mark", args=[bad.pk]), {"reason": "x"}
    )
    assert response.status_code == 403
    bad.refresh_from_db()
    assert bad.recalled_at is None
    assert selectors.on_hand(bad.item, exposure["shelf"], bad) == Decimal(18)  # type: ignore[arg-type]


def test_the_stock_left_is_named_with_a_discard_link(
    exposure: dict[str, object], coordinator: User
) -> None:
    shelf: StockLocation = exposure["shelf"]  # type: ignore[assignment]
    bad: Lot = exposure["bad"]  # type: ignore[assignment]
    html = client_for(coordinator).get(reverse("supplies:recall", args=[bad.pk])).content.decode()
    assert f"{shelf.name}: 18 each" in html
    assert reverse("supplies:discard") in html
