"""Forms of the MPPS reconciliation pages; the rules stay in ``interfaces.services``."""

from __future__ import annotations

from typing import Any

from django import forms

from radflow.catalog.models import ExamType
from radflow.core.errors import ValidationFailed
from radflow.orders.models import Priority


class _ServiceErrors:
    def add_service_errors(self, exc: ValidationFailed) -> None:
        form: Any = self
        for name, messages in exc.errors.items():
            field = name if name in form.fields else None
            for message in messages:
                form.add_error(field, message)


class StepSearchForm(forms.Form):
    q = forms.CharField(
        label="Accession, MRN or family name",
        required=False,
        max_length=80,
        help_text="Today's scheduled and arrived exams, or any exam by accession number.",
    )


class LinkForm(_ServiceErrors, forms.Form):
    exam = forms.UUIDField(widget=forms.HiddenInput)


class CreateOrderForm(_ServiceErrors, forms.Form):
    exam_type = forms.ModelChoiceField(
        queryset=ExamType.objects.filter(active=True).order_by("modality", "name"),
        help_text="The exam the modality performed.",
    )
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.ROUTINE)

    def __init__(self, *args: Any, modality: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["exam_type"]
        if modality and field.queryset.filter(modality_id=modality).exists():
            field.queryset = field.queryset.filter(modality_id=modality)


class ClearFlagForm(_ServiceErrors, forms.Form):
    note = forms.CharField(
        label="What was done",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="e.g. identity confirmed with two identifiers after the scan.",
    )
