"""Forms for the pre-authorization pages. They parse and label input; the services hold the rules
(an approval needs a number and dates, the dates must be in order), so a form never says yes to
something the service would refuse.
"""

from __future__ import annotations

from typing import Any

from django import forms

from radflow.billing.models import Payer
from radflow.catalog.models import ProcedureCode
from radflow.orders.models import Authorization, AuthStatus, ContactChannel
from radflow.web.forms import ServiceErrorsMixin

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PayerFilterForm(forms.Form):
    payer = forms.ModelChoiceField(
        label="Payer",
        queryset=Payer.objects.order_by("name", "plan"),
        required=False,
        empty_label="Every payer",
    )

    def payer_id(self) -> Any:
        if not self.is_valid() or self.cleaned_data["payer"] is None:
            return None
        return self.cleaned_data["payer"].pk


class AuthorizationRequestForm(ServiceErrorsMixin, forms.Form):
    note = forms.CharField(
        label="Note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="How the request went to the payer (portal, fax) and anything they asked for.",
    )


class DecisionForm(ServiceErrorsMixin, forms.Form):
    """The payer's answer; the service decides what an approval must carry."""

    status = forms.ChoiceField(label="Status", choices=AuthStatus.choices)
    number = forms.CharField(
        label="Authorization number",
        max_length=40,
        required=False,
        help_text="Needed for an approval.",
    )
    valid_from = forms.DateField(
        label="Valid from", required=False, widget=DATE_INPUT, help_text="Needed for an approval."
    )
    valid_to = forms.DateField(
        label="Valid to", required=False, widget=DATE_INPUT, help_text="Needed for an approval."
    )
    approved_units = forms.IntegerField(
        label="Approved units", required=False, min_value=1, max_value=999
    )
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    @classmethod
    def for_authorization(cls, auth: Authorization) -> DecisionForm:
        return cls(
            initial={
                "status": auth.status,
                "number": auth.number,
                "valid_from": auth.valid_from,
                "valid_to": auth.valid_to,
                "approved_units": auth.approved_units,
            },
            prefix="decide",
        )


class ContactForm(ServiceErrorsMixin, forms.Form):
    channel = forms.ChoiceField(label="Channel", choices=ContactChannel.choices)
    contact_name = forms.CharField(label="Spoke with", max_length=120, required=False)
    reference = forms.CharField(
        label="Reference", max_length=60, required=False, help_text="Call or case reference."
    )
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RuleForm(ServiceErrorsMixin, forms.Form):
    """Add a rule, or change the one already held for this payer and code."""

    payer = forms.ModelChoiceField(
        label="Payer", queryset=Payer.objects.filter(active=True).order_by("name", "plan")
    )
    procedure_code = forms.ModelChoiceField(
        label="Procedure code", queryset=ProcedureCode.objects.order_by("code")
    )
    auth_required = forms.BooleanField(label="Authorization required", required=False, initial=True)
    lead_time_days = forms.IntegerField(
        label="Lead time (days)",
        min_value=0,
        max_value=365,
        initial=0,
        help_text="Days the payer usually takes to answer.",
    )


class RuleEditForm(ServiceErrorsMixin, forms.Form):
    auth_required = forms.BooleanField(label="Authorization required", required=False)
    lead_time_days = forms.IntegerField(
        label="Lead time (days)",
        min_value=0,
        max_value=365,
        help_text="Days the payer usually takes to answer.",
    )
