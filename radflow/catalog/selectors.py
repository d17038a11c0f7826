"""Reads of the exam catalog shared by pages, the API and (later) order triage."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Q, QuerySet

from radflow.catalog.models import ExamType, PatientClass
from radflow.db import get_or_not_found


def exam_type_list(
    *,
    modality: str | None = None,
    cpt: str | None = None,
    q: str | None = None,
    active: bool | None = None,
) -> QuerySet[ExamType]:
    """Exam types with their modality and codes loaded; ``q`` matches a name or a CPT code."""
    exam_types = ExamType.objects.select_related("modality").prefetch_related("procedure_codes")
    if modality:
        exam_types = exam_types.filter(modality_id=modality)
    if active is not None:
        exam_types = exam_types.filter(active=active)
    if cpt:
        exam_types = exam_types.filter(
            pk__in=ExamType.procedure_codes.through.objects.filter(
                procedurecode_id=cpt.strip()
            ).values("examtype_id")
        )
    if q:
        q = q.strip()
        exam_types = exam_types.filter(
            Q(name__icontains=q)
            | Q(code__icontains=q)
            | Q(
                pk__in=ExamType.procedure_codes.through.objects.filter(
                    procedurecode__code__startswith=q
                ).values("examtype_id")
            )
        )
    return exam_types.order_by("modality_id", "name")


def exam_type_get(*, exam_type_id: UUID) -> ExamType:
    return get_or_not_found(
        ExamType.objects.select_related("modality").prefetch_related(
            "procedure_codes",
            "required_screening",
            "required_capabilities",
            "required_competencies",
        ),
        pk=exam_type_id,
        label="exam type",
    )


@dataclass(frozen=True)
class ClassDuration:
    patient_class: str
    label: str
    minutes: int
    is_default: bool


def exam_type_durations(exam_type: ExamType) -> list[ClassDuration]:
    """Minutes booked for each patient class, marking those that fall back to the default."""
    specific = {
        PatientClass.INPATIENT: exam_type.duration_inpatient_min,
        PatientClass.PORTABLE: exam_type.duration_portable_min,
        PatientClass.BARIATRIC: exam_type.duration_bariatric_min,
    }
    return [
        ClassDuration(
            patient_class=patient_class.value,
            label=patient_class.label,
            minutes=exam_type.duration_for(patient_class),
            is_default=specific.get(patient_class) is None,
        )
        for patient_class in PatientClass
    ]
