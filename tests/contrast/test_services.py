"""Doses issued from stock, reactions that flag the allergy list, agents and premedication.

A CT head with contrast is begun (intake complete, recent eGFR) in a CT room whose shelf holds
two lots of Omnipaque 350 in 100 mL bottles; doses draw from it through the supplies ledger.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from radflow.contrast import services
from radflow.contrast.models import AdverseEvent, ContrastAdministration, ContrastAgent
from radflow.core.errors import Conflict, PermissionDenied, ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.exams.services import exam_begin
from radflow.patients.models import Allergy
from radflow.supplies.models import Lot, MovementKind, StockLocation, StockMovement
from radflow.supplies.selectors import on_hand
from radflow.supplies.services import lot_recall
from tests.contrast.factories import (
    arrived_exam,
    complete_intake,
    contrast_item,
    gadobutrol,
    iohexol,
    receive,
    room_for,
    shelf,
)

pytestmark = pytest.mark.usefixtures("reference")


class Stocked:
    def __init__(self, admin: User) -> None:
        self.room = room_for()
        self.shelf = shelf(self.room)
        self.item = contrast_item()
        self.soon = receive(self.item, self.shelf, lot_number="OMN-24A17", expires_in_days=20)
        self.later = receive(self.item, self.shelf, lot_number="OMN-25C02", expires_in_days=300)
        self.agent = iohexol(self.item)
        self.admin = admin


@pytest.fixture
def stocked(admin_user: User) -> Stocked:
    return Stocked(admin_user)


@pytest.fixture
def begun(stocked: Stocked, technologist: User) -> Exam:
    exam = arrived_exam(stocked.admin, room=stocked.room)
    complete_intake(exam, technologist)
    return exam_begin(exam=exam, by=technologist)


def give(exam: Exam, by: User, agent: ContrastAgent, **kwargs: Any) -> ContrastAdministration:
    values: dict[str, Any] = {
        "dose": Decimal(75),
        "route": "iv",
        "injection_site": "Right antecubital, 20 G",
        "flow_rate": Decimal("3.5"),
        **kwargs,
    }
    return services.administration_record(exam=exam, by=by, agent=agent, **values)


def snapshot() -> tuple[int, int]:
    return ContrastAdministration.objects.count(), StockMovement.objects.count()


# --- doses -------------------------------------------------------------------------------------


def test_a_dose_is_issued_from_the_rooms_shelf_from_the_lot_given(
    stocked: Stocked, begun: Exam, technologist: User
) -> None:
    given = give(begun, technologist, stocked.agent, lot=stocked.later)
    assert (given.lot, given.dose, given.dose_unit, given.route) == (
        stocked.later,
        Decimal(75),
        "mL",
        "iv",
    )
    assert (given.egfr_value, given.egfr_date) == (
        Decimal(74),
        timezone.localdate() - dt.timedelta(days=2),
    )
    movement = given.stock_movement
    assert movement is not None
    # The item is counted in bottles: one 100 mL bottle, single-patient use.
    assert (movement.kind, movement.quantity, movement.exam, movement.location) == (
        MovementKind.EXAM_USE,
        Decimal(-1),
        begun,
        stocked.shelf,
    )
    assert on_hand(stocked.item, stocked.shelf, stocked.later) == Decimal(9)
    assert on_hand(stocked.item, stocked.shelf, stocked.soon) == Decimal(10)


def test_without_a_lot_the_first_to_expire_is_used(
    stocked: Stocked, begun: Exam, technologist: User
) -> None:
    given = give(begun, technologist, stocked.agent)
    assert given.lot == stocked.soon


def test_an_item_counted_in_millilitres_is_issued_by_the_dose(
    admin_user: User, technologist: User
) -> None:
    room = room_for()
    location = shelf(room)
    item = contrast_item("Iohexol 350 bulk pack, 500 mL", unit="mL")
    lot = receive(item, location, lot_number="BULK-7781", quantity=500)
    agent = iohexol(item, name="Iohexol 350 (bulk)")
    exam = arrived_exam(admin_user, room=room)
    complete_intake(exam, technologist)
    exam = exam_begin(exam=exam, by=technologist)
    give(exam, technologist, agent, dose=Decimal("92.5"))
    assert on_hand(item, location, lot) == Decimal("407.5")


def test_an_expired_or_recalled_lot_is_refused_and_nothing_is_written(
    stocked: Stocked, begun: Exam, technologist: User, coordinator: User
) -> None:
    expired = Lot.objects.create(
        item=stocked.item,
        lot_number="OMN-23X99",
        expiry_date=timezone.localdate() - dt.timedelta(days=1),
    )
    before = snapshot()
    with pytest.raises(ValidationFailed) as caught:
        give(begun, technologist, stocked.agent, lot=expired)
    assert "expired" in caught.value.errors["lot"][0]
    lot_recall(lot=stocked.later, by=coordinator, reason="Particulate matter reported by GE")
    stocked.later.refresh_from_db()
    with pytest.raises(ValidationFailed) as caught:
        give(begun, technologist, stocked.agent, lot=stocked.later)
    assert "recalled" in caught.value.errors["lot"][0]
    assert snapshot() == before


def test_short_stock_is_refused(stocked: Stocked, begun: Exam, technologist: User) -> None:
    empty_room_shelf = StockLocation.objects.create(
        name="CT store", code="CT-STORE", kind="store", site=stocked.room.site
    )
    before = snapshot()
    with pytest.raises(ValidationFailed) as caught:
        give(begun, technologist, stocked.agent, location=empty_room_shelf, lot=stocked.soon)
    assert "on hand" in caught.value.errors["quantity"][0]
    assert snapshot() == before


def test_a_dose_is_refused_while_the_contrast_stop_is_unmet(
    stocked: Stocked, admin_user: User, technologist: User
) -> None:
    exam = arrived_exam(admin_user, room=stocked.room)  # no eGFR on file
    before = snapshot()
    with pytest.raises(Conflict, match="Contrast may not be given: no eGFR on file") as caught:
        give(exam, technologist, stocked.agent)
    assert caught.value.code == "contrast_stop"
    assert snapshot() == before


def test_a_dose_is_refused_for_the_wrong_class_route_or_an_exam_without_contrast(
    stocked: Stocked, begun: Exam, technologist: User, admin_user: User
) -> None:
    before = snapshot()
    with pytest.raises(ValidationFailed) as caught:
        give(begun, technologist, gadobutrol())
    assert caught.value.errors["agent"] == [
        "CT head with contrast takes iodinated contrast; Gadobutrol 1.0 mmol/mL is "
        "gadolinium-based contrast (gbca)."
    ]
    with pytest.raises(ValidationFailed) as caught:
        give(begun, technologist, stocked.agent, route="rectal")
    assert caught.value.errors["route"] == [
        "Iohexol 350 is given by: Intravenous, Intra-arterial, Oral."
    ]
    plain = arrived_exam(admin_user, exam_type="ct-head-wo", room=stocked.room, hours_ahead=5)
    with pytest.raises(Conflict, match="not set up to take contrast"):
        give(plain, technologist, stocked.agent)
    assert snapshot() == before


def test_a_dose_needs_an_allowed_role_and_an_open_exam(
    stocked: Stocked, begun: Exam, technologist: User, scheduler: User, admin_user: User
) -> None:
    with pytest.raises(PermissionDenied):
        give(begun, scheduler, stocked.agent)
    requested = arrived_exam(admin_user, room=stocked.room, hours_ahead=6)
    requested.state = ExamState.SCHEDULED
    requested.save(update_fields=["state"])
    with pytest.raises(Conflict, match="this exam is scheduled"):
        give(requested, technologist, stocked.agent)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"dose": Decimal(0)}, "dose"),
        ({"dose": Decimal(5000)}, "dose"),
        ({"flow_rate": Decimal(25)}, "flow_rate"),
        ({"injection_site": ""}, "injection_site"),
        ({"given_at": dt.datetime(2031, 1, 1, tzinfo=dt.UTC)}, "given_at"),
    ],
)
def test_bad_dose_input_is_refused_with_the_field_named(
    stocked: Stocked, begun: Exam, technologist: User, change: dict[str, Any], field: str
) -> None:
    before = snapshot()
    with pytest.raises(ValidationFailed) as caught:
        give(begun, technologist, stocked.agent, **change)
    assert field in caught.value.errors
    assert snapshot() == before


# --- reactions ---------------------------------------------------------------------------------


def test_a_severe_reaction_flags_the_allergy_and_the_next_booking_screen_shows_it(
    stocked: Stocked, begun: Exam, technologist: User, admin_user: User
) -> None:
    from radflow.contrast.selectors import exam_screen
    from radflow.intake.selectors import exam_hard_stops

    given = give(begun, technologist, stocked.agent)
    event = services.adverse_event_record(
        administration=given,
        by=technologist,
        grade="severe",
        symptoms=["bronchospasm", "hypotension", "urticaria"],
        treatment="Epinephrine 0.3 mg IM, oxygen 6 L/min, 1 L saline; rapid response called.",
        outcome="emergency",
        onset_at=given.given_at + dt.timedelta(minutes=4),
    )
    allergy = Allergy.objects.get(patient=begun.order.patient)
    assert event.allergy == allergy
    assert (allergy.substance, allergy.category, allergy.severity) == (
        "Iohexol 350 (iodinated contrast)",
        "contrast",
        "severe",
    )
    assert "wheezing / bronchospasm" in allergy.reaction

    later = arrived_exam(admin_user, patient=begun.order.patient, room=stocked.room, hours_ahead=6)
    complete_intake(later, technologist)
    screen = exam_screen(later, on=timezone.localdate())
    when = timezone.localtime(event.onset_at)
    assert [r.what for r in screen.reactions] == [
        f"severe reaction to Iohexol 350 on {when:%Y-%m-%d}"
    ]
    assert [s.code for s in exam_hard_stops(later, on=timezone.localdate())] == ["contrast"]
    # The modality's worklist names it too (DICOM Allergies, 0010,2110).
    from radflow.core.dicom.matching import parse_query
    from radflow.interfaces.mwl import worklist_entries
    from tests.core.dicom.worklist_entries import identifier

    query = parse_query(identifier(Allergies="", PatientID=later.order.patient.mrn))
    assert [e.allergies for e in worklist_entries(query)] == ["Iohexol 350 (iodinated contrast)"]


def test_a_milder_second_reaction_does_not_lower_the_allergy_severity(
    stocked: Stocked, begun: Exam, technologist: User
) -> None:
    given = give(begun, technologist, stocked.agent)
    for grade in ("moderate", "mild"):
        services.adverse_event_record(
            administration=given,
            by=technologist,
            grade=grade,
            symptoms=["urticaria"],
            treatment="Diphenhydramine 25 mg PO; observed 30 min.",
            outcome="resolved",
        )
    allergy = Allergy.objects.get(patient=begun.order.patient)
    assert allergy.severity == "moderate"
    assert AdverseEvent.objects.filter(allergy=allergy).count() == 2


def test_a_physiologic_reaction_is_recorded_but_is_not_an_allergy(
    stocked: Stocked, begun: Exam, technologist: User
) -> None:
    given = give(begun, technologist, stocked.agent)
    event = services.adverse_event_record(
        administration=given,
        by=technologist,
        grade="mild",
        kind="physiologic",
        symptoms=["nausea_vomiting", "flushing"],
        treatment="Observation only.",
        outcome="resolved",
    )
    assert event.allergy is None
    assert not Allergy.objects.filter(patient=begun.order.patient).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"grade": "fatal"}, "grade"),
        ({"symptoms": []}, "symptoms"),
        ({"symptoms": ["sneezing fit"]}, "symptoms"),
        ({"treatment": "  "}, "treatment"),
        ({"outcome": "fine"}, "outcome"),
        ({"reported_to_programme": True}, "reported_on"),
        ({"reported_on": dt.date(2026, 1, 1)}, "reported_to_programme"),
    ],
)
def test_bad_reaction_input_changes_nothing(
    stocked: Stocked,
    begun: Exam,
    technologist: User,
    change: dict[str, Any],
    field: str,
) -> None:
    given = give(begun, technologist, stocked.agent)
    values: dict[str, Any] = {
        "grade": "moderate",
        "symptoms": ["urticaria"],
        "treatment": "Diphenhydramine 50 mg IV.",
        "outcome": "resolved",
        **change,
    }
    with pytest.raises(ValidationFailed) as caught:
        services.adverse_event_record(administration=given, by=technologist, **values)
    assert field in caught.value.errors
    assert not AdverseEvent.objects.exists()
    assert not Allergy.objects.exists()


def test_reporting_to_the_safety_programme_is_the_radiologists_and_happens_once(
    stocked: Stocked, begun: Exam, technologist: User, radiologist: User
) -> None:
    given = give(begun, technologist, stocked.agent)
    event = services.adverse_event_record(
        administration=given,
        by=technologist,
        grade="moderate",
        symptoms=["facial_edema", "urticaria"],
        treatment="Diphenhydramine 50 mg IV; observed 2 h.",
        outcome="observed",
    )
    today = timezone.localdate()
    with pytest.raises(PermissionDenied):
        services.adverse_event_report(event=event, by=technologist, reported_on=today, reference="")
    services.adverse_event_report(
        event=event, by=radiologist, reported_on=today, reference="GEHC-PV-2026-0413"
    )
    event.refresh_from_db()
    assert (event.reported_to_programme, event.reported_on, event.report_reference) == (
        True,
        today,
        "GEHC-PV-2026-0413",
    )
    with pytest.raises(Conflict, match="already reported"):
        services.adverse_event_report(event=event, by=radiologist, reported_on=today, reference="")


# --- agents, settings, eGFR, premedication ----------------------------------------------------


def test_an_agent_is_validated_before_it_is_saved(coordinator: User, technologist: User) -> None:
    item = contrast_item("Gadavist 7.5 mL syringe", unit="syringe", vendor="Bayer")
    values = {
        "name": "Gadobutrol",
        "agent_class": "gadolinium",
        "routes": ["iv"],
        "supply_item": item,
        "dose_unit": "mL",
    }
    with pytest.raises(PermissionDenied):
        services.agent_save(by=technologist, values=values)
    with pytest.raises(ValidationFailed) as caught:
        services.agent_save(by=coordinator, values={**values, "routes": []})
    assert set(caught.value.errors) == {"routes", "gbca_group"}
    agent = services.agent_save(by=coordinator, values={**values, "gbca_group": "II"})
    assert (agent.agent_class, agent.gbca_group, agent.supply_item) == ("gadolinium", "II", item)
    with pytest.raises(ValidationFailed) as caught:
        services.agent_save(
            by=coordinator, values={**values, "gbca_group": "II", "name": "gadobutrol"}
        )
    assert set(caught.value.errors) == {"name", "supply_item"}


def test_settings_are_the_radiologists(technologist: User, coordinator: User) -> None:
    from radflow.catalog.models import ExamType

    ct = ExamType.objects.get(code="ct-chest-w")
    values: dict[str, Any] = {
        "exam_type": ct,
        "gives_contrast": True,
        "agent_class": "iodinated",
        "egfr_required": True,
        "egfr_window_days": 90,
        "egfr_minimum": Decimal(30),
        "reaction_screening": True,
    }
    for user in (technologist, coordinator):
        with pytest.raises(PermissionDenied):
            services.requirement_save(by=user, **values)


def test_an_egfr_in_the_future_or_out_of_range_is_refused(coordinator: User) -> None:
    from radflow.contrast.models import EgfrResult
    from tests.patients.factories import PatientFactory

    patient = PatientFactory.create()
    with pytest.raises(ValidationFailed) as caught:
        services.egfr_record(
            by=coordinator,
            patient=patient,
            value=Decimal(900),
            measured_on=timezone.localdate() + dt.timedelta(days=1),
        )
    assert set(caught.value.errors) == {"value", "measured_on"}
    assert not EgfrResult.objects.exists()


def test_premedication_needs_each_doses_drug_route_time_and_giver(
    stocked: Stocked, admin_user: User, technologist: User
) -> None:
    from radflow.contrast.models import Premedication

    exam = arrived_exam(admin_user, room=stocked.room)
    with pytest.raises(ValidationFailed) as caught:
        services.premedication_record(
            exam=exam,
            by=technologist,
            protocol="ACR accelerated IV (4-5 h)",
            doses=[services.DoseInput("Methylprednisolone", "40 mg", "sc", None, "")],
        )
    assert caught.value.errors["doses"] == ["Dose 1: enter the route, who gave it, the time given"]
    with pytest.raises(ValidationFailed):
        services.premedication_record(exam=exam, by=technologist, protocol="", doses=[])
    assert not Premedication.objects.exists()
