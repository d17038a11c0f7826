"""Reads for the MPPS reconciliation pages: steps waiting for a person, flagged exams, and the
exams a step could be linked to. Each list is one query (joins, no per-row lookups)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from uuid import UUID

from django.db.models import Q, QuerySet

from radflow.audit.services import AccessSource, access_record
from radflow.core.exam_states import ExamState
from radflow.db import get_or_not_found
from radflow.exams.models import Exam
from radflow.interfaces.models import PerformedProcedureStep
from radflow.localtime import local_day

#: How many rows a list shows; older ones are reached by reconciling the newer.
LIST_LIMIT = 200
#: Exams a step may be linked to from a name or MRN search: today's, not yet begun.
LINKABLE_STATES = (ExamState.SCHEDULED, ExamState.ARRIVED)

_STEP_RELATED = (
    "exam",
    "exam__order",
    "exam__order__patient",
    "exam__order__exam_type",
    "exam__room",
)


def _steps() -> QuerySet[PerformedProcedureStep]:
    return PerformedProcedureStep.objects.select_related(*_STEP_RELATED)


def unreconciled_steps() -> list[PerformedProcedureStep]:
    """Steps no exam matched, and steps that could not be applied to the exam they matched."""
    return list(
        _steps()
        .filter(Q(exam__isnull=True) | ~Q(apply_error=""))
        .order_by("-created_at")[:LIST_LIMIT]
    )


def flagged_steps() -> list[PerformedProcedureStep]:
    """Exams begun at the modality while an intake requirement was unmet, until cleared."""
    return list(_steps().filter(flagged=True).order_by("-created_at")[:LIST_LIMIT])


def step_get(*, step_id: UUID) -> PerformedProcedureStep:
    return get_or_not_found(_steps(), pk=step_id, label="performed procedure step")


def link_candidates(*, q: str, on: date) -> list[Exam]:
    """Exams ``q`` names: an exact accession number (any day), or an MRN or family name among
    the day's scheduled and arrived exams."""
    exams = Exam.objects.select_related("order", "order__patient", "order__exam_type", "room")
    q = q.strip()
    if not q:
        return []
    start, end = local_day(on)
    today = Q(
        state__in=[s.value for s in LINKABLE_STATES],
        scheduled_start__gte=start,
        scheduled_start__lt=end,
    )
    named = Q(order__patient__mrn__iexact=q) | Q(order__patient__family_name__istartswith=q)
    found = exams.filter(Q(accession_number__iexact=q) | (today & named))
    return list(found.order_by("scheduled_start", "accession_number")[:20])


def patients_shown_audited(
    *, user: object, exams: Iterable[Exam | None], action: str, source: AccessSource
) -> None:
    """One access-log row per RadFlow patient the page names (the modality's own
    demographics on an unmatched step are not a patient record)."""
    access_record(
        user=user,  # type: ignore[arg-type]
        patients=[exam.order.patient for exam in exams if exam is not None],
        action=action,
        source=source,
    )
