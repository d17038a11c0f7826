"""Writes to patients: creation, edits, allergies, identifiers, contacts and merges.

Every service takes ``by``, the person (or interface user) acting, and hands it to
django-simple-history as ``_history_user`` on each instance it saves. Inside a web request the
``HistoryRequestMiddleware`` would find the user anyway; passing it explicitly makes HL7, API
tokens, commands and tests record the same thing, with no thread-local magic to forget.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from radflow.core.errors import Conflict, ValidationFailed
from radflow.patients.languages import ISO_639_1
from radflow.patients.models import (
    AdministrativeSex,
    Allergy,
    AllergyCategory,
    AllergySeverity,
    IdentifierType,
    Patient,
    PatientContact,
    PatientIdentifier,
    PatientMerge,
)

Actor = AbstractBaseUser | AnonymousUser | None

#: Fields a person may set on create and change on edit. Identity keys (id) and the merge
#: state (active, merged_into) change only through ``patient_merge``.
PATIENT_FIELDS = (
    "mrn",
    "mrn_authority",
    "family_name",
    "given_name",
    "middle_name",
    "prefix",
    "suffix",
    "birth_date",
    "sex",
    "language",
    "interpreter_needed",
    "phone",
    "email",
    "address_line",
    "city",
    "state",
    "postal_code",
)


def _actor(by: Actor) -> User | None:
    if by is None or not by.is_authenticated:
        return None
    return cast(User, by)


def _save(
    instance: models.Model,
    *,
    by: Actor,
    update_fields: list[str] | None = None,
    errors: dict[str, list[str]] | None = None,
    validate_constraints: bool = True,
) -> None:
    """``full_clean`` then ``save``; Django's errors and the caller's ``errors`` are reported
    together as one ``ValidationFailed``, so a form shows every problem at once."""
    found = dict(errors or {})
    try:
        instance.full_clean(validate_constraints=validate_constraints)
    except DjangoValidationError as exc:
        for field, messages in exc.message_dict.items():
            key = "non_field" if field == NON_FIELD_ERRORS else field
            found.setdefault(key, []).extend(m for m in messages if m not in found.get(key, []))
    if found:
        raise ValidationFailed(found)
    instance._history_user = _actor(by)  # type: ignore[attr-defined]
    instance.save(update_fields=update_fields)


def _check_patient(patient: Patient) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for field in ("mrn", "mrn_authority", "family_name", "given_name"):
        value = getattr(patient, field)
        if isinstance(value, str):
            setattr(patient, field, value.strip())
    patient.language = (patient.language or "").strip().lower()
    if patient.language not in ISO_639_1:
        errors["language"] = [
            f"{patient.language!r} is not an ISO 639-1 language code (e.g. en, es, zh)."
        ]
    if isinstance(patient.birth_date, date) and patient.birth_date > timezone.localdate():
        errors["birth_date"] = ["The birth date cannot be in the future."]
    if patient.mrn and (
        Patient.objects.filter(mrn_authority=patient.mrn_authority, mrn=patient.mrn)
        .exclude(pk=patient.pk)
        .exists()
    ):
        errors["mrn"] = [
            f"MRN {patient.mrn} is already used by another patient of {patient.mrn_authority}."
        ]
    return errors


def _save_patient(patient: Patient, *, by: Actor) -> None:
    errors = _check_patient(patient)
    try:
        with transaction.atomic():
            # Uniqueness was checked above with a message naming ``mrn``.
            _save(patient, by=by, errors=errors, validate_constraints=False)
    except IntegrityError:
        # Another writer took the MRN between our check and the insert.
        raise ValidationFailed(
            {"mrn": [f"MRN {patient.mrn} is already used by another patient."]}
        ) from None


@transaction.atomic
def patient_create(
    *,
    by: Actor,
    mrn: str,
    family_name: str,
    given_name: str,
    birth_date: date,
    sex: AdministrativeSex | str,
    mrn_authority: str = "RADFLOW",
    middle_name: str = "",
    prefix: str = "",
    suffix: str = "",
    language: str = "en",
    interpreter_needed: bool = False,
    phone: str = "",
    email: str = "",
    address_line: str = "",
    city: str = "",
    state: str = "",
    postal_code: str = "",
) -> Patient:
    patient = Patient(
        mrn=mrn,
        mrn_authority=mrn_authority,
        family_name=family_name,
        given_name=given_name,
        middle_name=middle_name,
        prefix=prefix,
        suffix=suffix,
        birth_date=birth_date,
        sex=sex,
        language=language,
        interpreter_needed=interpreter_needed,
        phone=phone,
        email=email,
        address_line=address_line,
        city=city,
        state=state,
        postal_code=postal_code,
    )
    _save_patient(patient, by=by)
    return patient


@transaction.atomic
def patient_update(*, patient: Patient, by: Actor, changes: Mapping[str, Any]) -> Patient:
    """Apply ``changes`` (field → new value); unknown or protected fields are refused."""
    unknown = sorted(set(changes) - set(PATIENT_FIELDS))
    if unknown:
        raise ValidationFailed({name: ["This field cannot be changed here."] for name in unknown})
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if not locked.active:
        raise Conflict("A merged or inactive patient cannot be edited.", code="patient_inactive")
    for name, value in changes.items():
        setattr(locked, name, value)
    _save_patient(locked, by=by)
    return locked


def _require_active(patient: Patient) -> None:
    if not patient.active:
        raise Conflict("A merged or inactive patient cannot be changed.", code="patient_inactive")


@transaction.atomic
def allergy_add(
    *,
    patient: Patient,
    by: Actor,
    substance: str,
    category: AllergyCategory | str,
    severity: AllergySeverity | str = AllergySeverity.MODERATE,
    reaction: str = "",
) -> Allergy:
    _require_active(patient)
    allergy = Allergy(
        patient=patient,
        substance=substance.strip(),
        category=category,
        severity=severity,
        reaction=reaction.strip(),
    )
    _save(allergy, by=by)
    return allergy


@transaction.atomic
def identifier_add(
    *,
    patient: Patient,
    by: Actor,
    value: str,
    authority: str,
    type: IdentifierType | str,  # the HL7 and model name of the field
) -> PatientIdentifier:
    _require_active(patient)
    identifier = PatientIdentifier(
        patient=patient, value=value.strip(), authority=authority.strip(), type=type
    )
    if PatientIdentifier.objects.filter(
        authority=identifier.authority, type=identifier.type, value=identifier.value
    ).exists():
        raise ValidationFailed(
            {"value": [f"This identifier is already recorded for {identifier.authority}."]}
        )
    _save(identifier, by=by, validate_constraints=False)
    return identifier


@transaction.atomic
def contact_add(
    *,
    patient: Patient,
    by: Actor,
    name: str,
    relationship: str,
    phone: str = "",
    email: str = "",
) -> PatientContact:
    _require_active(patient)
    contact = PatientContact(
        patient=patient,
        name=name.strip(),
        relationship=relationship.strip(),
        phone=phone.strip(),
        email=email.strip(),
    )
    if not contact.phone and not contact.email:
        raise ValidationFailed({"phone": ["Give a phone number or an e-mail address."]})
    _save(contact, by=by)
    return contact


@transaction.atomic
def patient_merge(
    *,
    surviving: Patient,
    merged: Patient,
    by: Actor,
    source: str = "manual",
    reason: str = "",
) -> PatientMerge:
    """Fold ``merged`` into ``surviving`` (HL7 A40: PID is the survivor, MRG-1 the merged).

    The merged record stays, inactive and pointing at the survivor, so its old MRN still
    resolves; its allergies, identifiers and contacts move to the survivor, because an allergy
    recorded on a duplicate must not be lost, and so do its orders (with their exams), so the
    survivor's record shows every exam. Records merged earlier into ``merged`` are
    re-pointed to the survivor so ``merged_into`` is never more than one hop.
    Both rows are locked (in primary-key order, so two merges cannot deadlock).
    """
    if surviving.pk == merged.pk:
        raise ValidationFailed({"merged": ["A patient cannot be merged into itself."]})
    locked = {
        p.pk: p
        for p in Patient.objects.select_for_update()
        .filter(pk__in=[surviving.pk, merged.pk])
        .order_by("pk")
    }
    survivor, duplicate = locked[surviving.pk], locked[merged.pk]
    if not survivor.active or survivor.merged_into_id is not None:
        raise ValidationFailed(
            {"surviving": ["The surviving patient is inactive or already merged."]}
        )
    if not duplicate.active or duplicate.merged_into_id is not None:
        raise ValidationFailed({"merged": ["This patient has already been merged."]})

    record = PatientMerge(
        surviving=survivor,
        merged=duplicate,
        merged_mrn=duplicate.mrn,
        merged_mrn_authority=duplicate.mrn_authority,
        merged_by=_actor(by),
        source=source,
        reason=reason.strip(),
    )
    _save(record, by=by)
    related: list[Allergy | PatientIdentifier | PatientContact] = [
        *duplicate.allergies.all(),
        *duplicate.identifiers.all(),
        *duplicate.contacts.all(),
    ]
    for item in related:
        item.patient = survivor
        _save(item, by=by, update_fields=["patient"])
    for earlier in Patient.objects.select_for_update().filter(merged_into=duplicate):
        earlier.merged_into = survivor
        _save(earlier, by=by, update_fields=["merged_into", "updated_at"])
    from radflow.orders.models import Order  # orders depend on patients, not the other way

    for order in Order.objects.select_for_update().filter(patient=duplicate):
        order.patient = survivor
        order._history_user = _actor(by)  # type: ignore[attr-defined]
        order.save(update_fields=["patient", "updated_at"])
    duplicate.active = False
    duplicate.merged_into = survivor
    _save(duplicate, by=by, update_fields=["active", "merged_into", "updated_at"])
    surviving.refresh_from_db()
    merged.refresh_from_db()
    return record
