"""The staff directory's filter form."""

from __future__ import annotations

from typing import Any

from django import forms

from radflow.scheduling.models import Modality, Site
from radflow.staff.models import JobRole


class StaffFilterForm(forms.Form):
    q = forms.CharField(label="Name or employee number", required=False, max_length=80)
    site = forms.ModelChoiceField(
        label="Home site",
        queryset=Site.objects.order_by("name"),
        required=False,
        empty_label="All sites",
    )
    job_role = forms.ChoiceField(
        label="Job role", choices=[("", "Any role"), *JobRole.choices], required=False
    )
    modality = forms.ModelChoiceField(
        queryset=Modality.objects.order_by("code"), required=False, empty_label="All modalities"
    )

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value}
