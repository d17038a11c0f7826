"""Factories for the exam catalog (ultrasound exams with their real CPT codes)."""

from __future__ import annotations

from factory.declarations import Sequence, SubFactory
from factory.django import DjangoModelFactory
from factory.helpers import post_generation

from radflow.catalog.models import Competency, ExamType, ProcedureCode, ScreeningItem
from tests.scheduling.factories import ModalityFactory


class ProcedureCodeFactory(DjangoModelFactory[ProcedureCode]):
    class Meta:
        model = ProcedureCode
        django_get_or_create = ("code",)

    code = "76700"
    description = "US abdomen complete"


class CompetencyFactory(DjangoModelFactory[Competency]):
    class Meta:
        model = Competency
        django_get_or_create = ("code",)

    code = "vascular"
    name = "Vascular ultrasound"
    modality = SubFactory(ModalityFactory)


class ScreeningItemFactory(DjangoModelFactory[ScreeningItem]):
    class Meta:
        model = ScreeningItem
        django_get_or_create = ("code",)

    code = "pregnancy"
    name = "Pregnancy status"
    question = "Is there any chance the patient is pregnant?"


class ExamTypeFactory(DjangoModelFactory[ExamType]):
    class Meta:
        model = ExamType
        skip_postgeneration_save = True

    code = Sequence(lambda n: f"us-abdomen-{n}")
    name = Sequence(lambda n: f"US abdomen complete {n}")
    modality = SubFactory(ModalityFactory)
    body_part = "Abdomen"
    default_duration_min = 30
    prep_instructions = "Nothing to eat or drink for 8 hours before the exam."

    @post_generation  # type: ignore[untyped-decorator]
    def procedure_codes(self, create: bool, extracted: list[ProcedureCode] | None) -> None:
        if create and extracted:
            self.procedure_codes.set(extracted)
