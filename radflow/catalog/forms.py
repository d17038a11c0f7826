"""The exam catalog's filter form."""

from __future__ import annotations

from typing import Any

from django import forms

from radflow.scheduling.models import Modality


class ExamTypeFilterForm(forms.Form):
    q = forms.CharField(label="Name or CPT code", required=False, max_length=120)
    modality = forms.ModelChoiceField(
        queryset=Modality.objects.order_by("code"), required=False, empty_label="All modalities"
    )

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value}
