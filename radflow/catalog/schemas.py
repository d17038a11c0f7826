"""API shapes for the exam catalog."""

from __future__ import annotations

from uuid import UUID

from ninja import Field, Schema

from radflow.catalog.models import ExamType, PatientClass


class ProcedureCodeOut(Schema):
    code: str
    system: str
    description: str


class CodeNameOut(Schema):
    code: str
    name: str


class ScreeningItemOut(Schema):
    code: str
    name: str
    question: str


class ExamTypeOut(Schema):
    id: UUID
    code: str
    name: str
    modality: str = Field(..., alias="modality_id")
    body_part: str
    procedure_codes: list[ProcedureCodeOut]
    default_duration_min: int
    consent_required: bool
    contrast: bool
    active: bool

    @staticmethod
    def resolve_procedure_codes(obj: ExamType) -> list[object]:
        return list(obj.procedure_codes.all())


class ExamTypeDetailOut(ExamTypeOut):
    durations: dict[str, int] = Field(..., description="Minutes to book per patient class.")
    prep_instructions: str
    required_screening: list[ScreeningItemOut]
    required_capabilities: list[CodeNameOut]
    required_competencies: list[CodeNameOut]

    @staticmethod
    def resolve_durations(obj: ExamType) -> dict[str, int]:
        return {
            patient_class.value: obj.duration_for(patient_class) for patient_class in PatientClass
        }

    @staticmethod
    def resolve_required_screening(obj: ExamType) -> list[object]:
        return list(obj.required_screening.all())

    @staticmethod
    def resolve_required_capabilities(obj: ExamType) -> list[object]:
        return list(obj.required_capabilities.all())

    @staticmethod
    def resolve_required_competencies(obj: ExamType) -> list[object]:
        return list(obj.required_competencies.all())
