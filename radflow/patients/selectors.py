"""Reads of patients. Every read that shows a record to someone is audited here.

Rule: a response that shows a patient's demographics writes an access row, in the same
transaction as the read. A detail page or API record writes one row (``patient.detail`` or the
caller's action). A search result list shows name, MRN and birth date, so it is a read too: one
``patient.search`` row per patient *shown* (the page, not every match), in one ``access_record``
call. ``patient_search`` alone shows nothing and logs nothing; callers that display its results go
through ``patient_search_page``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.paginator import Page, Paginator
from django.db import models, transaction
from django.db.models import Q, QuerySet

from radflow.audit.services import AccessSource, access_record
from radflow.core.errors import NotFound
from radflow.patients.models import (
    Allergy,
    AllergySeverity,
    Patient,
    PatientContact,
    PatientIdentifier,
    PatientMerge,
)

Reader = AbstractBaseUser | AnonymousUser | None

SEARCH_PAGE_SIZE = 25
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@transaction.atomic
def patient_get_audited(
    *, user: Reader, patient_id: Any, action: str, source: AccessSource
) -> Patient:
    """The patient with everything the record page shows; records one access row."""
    pk = _parse_uuid(patient_id)
    patient = (
        Patient.objects.select_related("merged_into")
        .prefetch_related(
            "identifiers",
            "contacts",
            models.Prefetch(
                "allergies", queryset=Allergy.objects.order_by("-recorded_at", "substance")
            ),
            models.Prefetch(
                "merges_in",
                queryset=PatientMerge.objects.select_related("merged", "merged_by"),
            ),
        )
        .filter(pk=pk)
        .first()
        if pk
        else None
    )
    if patient is None:
        raise NotFound("No patient has this id.", field="id")
    access_record(user=user, patients=[patient], action=action, source=source)
    return patient


def patient_search(
    *,
    q: str = "",
    mrn: str = "",
    birth_date: date | None = None,
    include_inactive: bool = False,
) -> QuerySet[Patient]:
    """Patients matching a free-text query and/or exact keys. Logs nothing: display via
    ``patient_search_page``.

    ``q`` may be an MRN (exact), a birth date (YYYY-MM-DD), ``family, given`` (prefixes of
    each) or a family-name prefix; ``mrn`` and ``birth_date`` narrow further. With no criteria
    nothing matches: there is no "list everyone", so nobody reads records they did not look for.
    An exact MRN also finds a merged record, so an old MRN leads to its survivor.
    """
    q = q.strip()
    mrn = mrn.strip()
    if not (q or mrn or birth_date):
        return Patient.objects.none()
    patients = Patient.objects.all()
    active_only = not include_inactive
    if q:
        if _DATE.match(q):
            try:
                patients = patients.filter(birth_date=date.fromisoformat(q))
            except ValueError:
                return Patient.objects.none()
        elif "," in q:
            family, given = (part.strip() for part in q.split(",", 1))
            condition = Q(family_name__istartswith=family)
            if given:
                condition &= Q(given_name__istartswith=given)
            patients = patients.filter(condition)
        else:
            patients = patients.filter(Q(mrn=q) | Q(family_name__istartswith=q))
            if Patient.objects.filter(mrn=q).exists():
                active_only = False
    if mrn:
        patients = patients.filter(mrn=mrn)
        active_only = False
    if birth_date:
        patients = patients.filter(birth_date=birth_date)
    if active_only:
        patients = patients.filter(active=True)
    return patients.order_by("family_name", "given_name", "birth_date", "mrn")


def patient_ids_matching(*, q: str) -> list[uuid.UUID]:
    """Ids for an auditor's patient filter (MRN or name); shows nothing, so logs nothing."""
    return list(patient_search(q=q, include_inactive=True).values_list("id", flat=True))


@transaction.atomic
def patient_search_page(
    *,
    user: Reader,
    source: AccessSource,
    q: str = "",
    mrn: str = "",
    birth_date: date | None = None,
    page: int | str = 1,
    per_page: int = SEARCH_PAGE_SIZE,
    action: str = "patient.search",
) -> Page[Patient]:
    """One page of search results; logs one access row per patient on the page."""
    paginator = Paginator(patient_search(q=q, mrn=mrn, birth_date=birth_date), per_page)
    result = paginator.get_page(page)
    access_record(user=user, patients=list(result.object_list), action=action, source=source)
    return result


@transaction.atomic
def patient_slice_audited(
    *,
    user: Reader,
    source: AccessSource,
    patients: QuerySet[Patient],
    offset: int,
    limit: int,
    action: str = "patient.search",
) -> tuple[int, list[Patient]]:
    """Total count and one slice of ``patients`` (for the API); logs each patient returned."""
    total = patients.count()
    shown = list(patients[offset : offset + limit])
    access_record(user=user, patients=shown, action=action, source=source)
    return total, shown


def patient_severe_allergies(patient: Patient) -> list[Allergy]:
    """The allergies a banner must show first: severe ones, then contrast and latex."""
    return [
        allergy
        for allergy in patient.allergies.all()
        if allergy.severity == AllergySeverity.SEVERE or allergy.category in {"contrast", "latex"}
    ]


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    user: str
    what: str
    kind: str
    changes: list[FieldChange]


_HISTORY_KIND = {"+": "created", "~": "changed", "-": "deleted"}
_HISTORY_SKIP = {"updated_at", "created_at", "recorded_at", "id", "patient"}


def _display(model: type[models.Model], field: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    try:
        model_field = model._meta.get_field(field)
    except Exception:  # a field removed since the history row was written
        return str(value)
    choices = getattr(model_field, "flatchoices", None)
    if choices:
        return str(dict(choices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _history_rows(
    model: type[models.Model], records: Iterable[Any], what: str
) -> list[HistoryEntry]:
    entries: list[HistoryEntry] = []
    ordered = sorted(records, key=lambda r: (r.id, r.history_date, r.history_id))
    previous: dict[Any, Any] = {}
    for record in ordered:
        before = previous.get(record.id)
        changes: list[FieldChange] = []
        if before is not None and record.history_type == "~":
            delta = record.diff_against(before)
            for change in delta.changes:
                if change.field in _HISTORY_SKIP:
                    continue
                label = str(
                    getattr(model._meta.get_field(change.field), "verbose_name", change.field)
                )
                changes.append(
                    FieldChange(
                        field=change.field,
                        label=label,
                        old=_display(model, change.field, change.old),
                        new=_display(model, change.field, change.new),
                    )
                )
        previous[record.id] = record
        user = record.history_user
        entries.append(
            HistoryEntry(
                at=record.history_date,
                user=user.get_username() if user is not None else "system",
                what=what if what else str(record.instance),
                kind=_HISTORY_KIND.get(record.history_type, record.history_type),
                changes=changes,
            )
        )
    return entries


def patient_history(*, patient: Patient) -> list[HistoryEntry]:
    """The record's change history, newest first, each change as field: before → after.

    Covers the patient row and its allergies, identifiers and contacts. It is shown only on the
    already-audited record page, so it records nothing itself.
    """
    history: Any = Patient.history
    entries = _history_rows(
        Patient,
        history.filter(id=patient.pk).select_related("history_user"),
        "Patient record",
    )
    for model, label in (
        (Allergy, "Allergy"),
        (PatientIdentifier, "Identifier"),
        (PatientContact, "Contact"),
    ):
        related: Any = model.history
        rows = related.filter(patient_id=patient.pk).select_related("history_user")
        entries.extend(
            HistoryEntry(e.at, e.user, f"{label}: {e.what}", e.kind, e.changes)
            for e in _history_rows(model, rows, "")
        )
    return sorted(entries, key=lambda e: e.at, reverse=True)
