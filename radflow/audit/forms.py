from __future__ import annotations

from django import forms

from radflow.audit.models import AccessChannel


class AccessLogFilterForm(forms.Form):
    patient = forms.CharField(
        label="Patient", required=False, help_text="MRN, or name as “family, given”"
    )
    user = forms.CharField(label="User name", required=False)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="To (inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    channel = forms.ChoiceField(
        label="Channel", required=False, choices=[("", "Any"), *AccessChannel.choices]
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data
