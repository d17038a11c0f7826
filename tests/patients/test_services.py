from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from radflow.core.errors import Conflict, ValidationFailed
from radflow.patients.models import Patient, PatientMerge
from radflow.patients.services import (
    allergy_add,
    contact_add,
    identifier_add,
    patient_create,
    patient_merge,
    patient_update,
)
from tests.patients.factories import AllergyFactory, PatientFactory


def new_patient(by: User | None, **overrides: Any) -> Patient:
    fields: dict[str, Any] = {
        "mrn": "A1001",
        "family_name": "Okafor",
        "given_name": "Adaeze",
        "birth_date": dt.date(1984, 5, 17),
        "sex": "F",
        "language": "ig",
        "interpreter_needed": True,
    }
    fields.update(overrides)
    return patient_create(by=by, **fields)


@pytest.mark.django_db
def test_a_created_patient_records_who_created_it(scheduler: User) -> None:
    patient = new_patient(scheduler)
    record = patient.history.get()
    assert record.history_type == "+"
    assert record.history_user == scheduler


@pytest.mark.django_db
def test_the_same_mrn_twice_in_one_authority_is_refused_naming_mrn(scheduler: User) -> None:
    new_patient(scheduler)
    with pytest.raises(ValidationFailed) as caught:
        new_patient(scheduler, family_name="Other")
    assert list(caught.value.errors) == ["mrn"]
    assert Patient.objects.count() == 1


@pytest.mark.django_db
def test_the_same_mrn_in_another_authority_is_a_different_patient(scheduler: User) -> None:
    new_patient(scheduler)
    new_patient(scheduler, mrn_authority="STMARYS")
    assert Patient.objects.count() == 2


@pytest.mark.django_db
def test_a_birth_date_in_the_future_is_refused(scheduler: User) -> None:
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationFailed) as caught:
        new_patient(scheduler, birth_date=tomorrow)
    assert "birth_date" in caught.value.errors
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_a_language_must_be_an_iso_639_1_code(scheduler: User) -> None:
    with pytest.raises(ValidationFailed) as caught:
        new_patient(scheduler, language="english")
    assert "language" in caught.value.errors
    assert new_patient(scheduler, language="ES").language == "es"


@pytest.mark.django_db
def test_every_problem_is_reported_at_once(scheduler: User) -> None:
    with pytest.raises(ValidationFailed) as caught:
        new_patient(scheduler, language="xx", family_name="", email="not-an-email")
    assert {"language", "family_name", "email"} <= set(caught.value.errors)


@pytest.mark.django_db
def test_an_update_is_recorded_with_the_changed_fields(scheduler: User, coordinator: User) -> None:
    patient = new_patient(scheduler)
    patient_update(patient=patient, by=coordinator, changes={"phone": "555-0100"})
    latest = patient.history.first()
    assert latest.history_user == coordinator
    assert [c.field for c in latest.diff_against(latest.prev_record).changes] == ["phone"]


@pytest.mark.django_db
def test_an_update_cannot_take_another_patients_mrn(scheduler: User) -> None:
    new_patient(scheduler)
    other = new_patient(scheduler, mrn="A1002")
    with pytest.raises(ValidationFailed) as caught:
        patient_update(patient=other, by=scheduler, changes={"mrn": "A1001"})
    assert list(caught.value.errors) == ["mrn"]
    other.refresh_from_db()
    assert other.mrn == "A1002"


@pytest.mark.django_db
def test_an_update_refuses_fields_that_only_a_merge_may_change(scheduler: User) -> None:
    patient = new_patient(scheduler)
    with pytest.raises(ValidationFailed) as caught:
        patient_update(patient=patient, by=scheduler, changes={"active": False})
    assert list(caught.value.errors) == ["active"]


@pytest.mark.django_db
def test_allergies_identifiers_and_contacts_are_added_with_history(scheduler: User) -> None:
    patient = new_patient(scheduler)
    allergy = allergy_add(
        patient=patient, by=scheduler, substance="Latex", category="latex", severity="severe"
    )
    identifier_add(patient=patient, by=scheduler, value="123-45", authority="SSA", type="SS")
    contact = contact_add(
        patient=patient, by=scheduler, name="Chidi Okafor", relationship="brother", phone="555"
    )
    assert allergy.history.get().history_user == scheduler
    assert contact.history.get().history_user == scheduler
    assert patient.identifiers.get().value == "123-45"


@pytest.mark.django_db
def test_an_identifier_already_recorded_is_refused_naming_value(scheduler: User) -> None:
    patient = new_patient(scheduler)
    identifier_add(patient=patient, by=scheduler, value="123-45", authority="SSA", type="SS")
    with pytest.raises(ValidationFailed) as caught:
        identifier_add(patient=patient, by=scheduler, value="123-45", authority="SSA", type="SS")
    assert list(caught.value.errors) == ["value"]


@pytest.mark.django_db
def test_a_contact_needs_a_way_to_reach_them(scheduler: User) -> None:
    patient = new_patient(scheduler)
    with pytest.raises(ValidationFailed):
        contact_add(patient=patient, by=scheduler, name="Someone", relationship="friend")
    assert not patient.contacts.exists()


@pytest.mark.django_db
def test_a_merge_deactivates_the_duplicate_and_moves_its_allergies(coordinator: User) -> None:
    survivor = PatientFactory.create(mrn="S1")
    duplicate = PatientFactory.create(mrn="D1")
    AllergyFactory.create(patient=duplicate, substance="Gadolinium")
    merge = patient_merge(
        surviving=survivor, merged=duplicate, by=coordinator, source="hl7", reason="A40"
    )
    duplicate.refresh_from_db()
    assert (duplicate.active, duplicate.merged_into) == (False, survivor)
    assert (merge.merged_mrn, merge.merged_by, merge.source) == ("D1", coordinator, "hl7")
    assert [a.substance for a in survivor.allergies.all()] == ["Gadolinium"]
    assert duplicate.history.first().history_user == coordinator


@pytest.mark.django_db
def test_a_patient_cannot_be_merged_into_itself(coordinator: User) -> None:
    patient = PatientFactory.create()
    with pytest.raises(ValidationFailed):
        patient_merge(surviving=patient, merged=patient, by=coordinator)
    assert not PatientMerge.objects.exists()


@pytest.mark.django_db
def test_nothing_can_be_merged_into_a_merged_patient(coordinator: User) -> None:
    first, second, third = PatientFactory.create(), PatientFactory.create(), PatientFactory.create()
    patient_merge(surviving=first, merged=second, by=coordinator)
    with pytest.raises(ValidationFailed) as caught:
        patient_merge(surviving=second, merged=third, by=coordinator)
    assert list(caught.value.errors) == ["surviving"]
    with pytest.raises(ValidationFailed) as caught:
        patient_merge(surviving=third, merged=second, by=coordinator)
    assert list(caught.value.errors) == ["merged"]
    assert PatientMerge.objects.count() == 1


@pytest.mark.django_db
def test_records_merged_earlier_follow_the_duplicate_to_the_survivor(coordinator: User) -> None:
    oldest, middle, survivor = (
        PatientFactory.create(),
        PatientFactory.create(),
        PatientFactory.create(),
    )
    patient_merge(surviving=middle, merged=oldest, by=coordinator)
    patient_merge(surviving=survivor, merged=middle, by=coordinator)
    oldest.refresh_from_db()
    assert oldest.merged_into == survivor


@pytest.mark.django_db
def test_a_merged_patient_cannot_be_edited(coordinator: User) -> None:
    survivor, duplicate = PatientFactory.create(), PatientFactory.create()
    patient_merge(surviving=survivor, merged=duplicate, by=coordinator)
    with pytest.raises(Conflict):
        patient_update(patient=duplicate, by=coordinator, changes={"phone": "1"})
