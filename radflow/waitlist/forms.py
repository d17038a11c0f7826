"""Forms of the waitlist pages; they parse input, the rules stay in ``waitlist.services``."""

from __future__ import annotations

from typing import Any

from django import forms

from radflow.core.errors import ValidationFailed
from radflow.scheduling.models import Site
from radflow.waitlist.models import WaitlistStatus


class WaitlistFilterForm(forms.Form):
    q = forms.CharField(label="Accession, MRN or family name", required=False, max_length=80)
    status = forms.ChoiceField(
        required=False, choices=[("", "Still waiting"), *WaitlistStatus.choices]
    )


class WaitlistAddForm(forms.Form):
    accession = forms.CharField(
        label="Accession number", max_length=16, help_text="The exam to offer an earlier slot."
    )
    wanted_before = forms.DateField(
        label="Wanted before",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    preferred_site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"), required=False, empty_label="Any site"
    )
    preferred_times = forms.CharField(
        label="Preferred times", required=False, max_length=120, help_text="e.g. mornings"
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def add_service_errors(self, exc: ValidationFailed) -> None:
        form: Any = self
        for name, messages in exc.errors.items():
            target = "accession" if name == "order" else name
            for message in messages:
                form.add_error(target if target in form.fields else None, message)


class WaitlistRemoveForm(forms.Form):
    reason = forms.CharField(required=False, max_length=200)


class WaitlistBookForm(forms.Form):
    room = forms.UUIDField()
    start = forms.DateTimeField(input_formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z"])
