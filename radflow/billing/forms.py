"""The payer list's filter form."""

from __future__ import annotations

from typing import Any

from django import forms

from radflow.billing.models import PayerType


class PayerFilterForm(forms.Form):
    q = forms.CharField(label="Name, plan or code", required=False, max_length=120)
    payer_type = forms.ChoiceField(
        label="Type", choices=[("", "Any type"), *PayerType.choices], required=False
    )

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value}
