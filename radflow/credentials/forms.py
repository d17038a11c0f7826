"""Forms for the credential pages; the rules themselves are checked again in ``services``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from radflow.catalog.models import Competency, ExamType
from radflow.credentials.models import CredentialType, CreditCategory, PlanStatus
from radflow.staff.models import JobRole, StaffMember
from radflow.web.forms import ServiceErrorsMixin

DATE = forms.DateInput(attrs={"type": "date"})


def _clinical_staff() -> Any:
    return StaffMember.objects.filter(
        active=True,
        job_role__in=[
            JobRole.SONOGRAPHER,
            JobRole.TECHNOLOGIST,
            JobRole.RADIOLOGIST,
            JobRole.COORDINATOR,
            JobRole.MANAGER,
        ],
    ).order_by("family_name", "given_name")


class CredentialForm(ServiceErrorsMixin, forms.Form):
    credential_type = forms.ChoiceField(label="Credential type")
    number = forms.CharField(label="Credential number", max_length=40, required=False)
    issued_on = forms.DateField(label="Issued", widget=DATE)
    expires_on = forms.DateField(label="Expires", widget=DATE, required=False)
    evidence = forms.FileField(
        label="Evidence (certificate or card)",
        required=False,
        help_text="PDF, PNG, JPEG or TIFF, up to 20 MB.",
    )
    verified = forms.BooleanField(
        label="I verified this credential at the issuer (primary source) just now",
        required=False,
    )
    verification_note = forms.CharField(label="How it was verified", max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["credential_type"]
        field.choices = [("", "Choose…")] + [
            (t.code, f"{t.name} — {t.issuer}")
            for t in CredentialType.objects.filter(active=True).order_by("issuer", "name")
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        issued, expires = data.get("issued_on"), data.get("expires_on")
        if issued and expires and expires <= issued:
            self.add_error("expires_on", "The expiry date must be after the issue date.")
        if data.get("verified") and not (data.get("verification_note") or "").strip():
            self.add_error(
                "verification_note", "Say how it was verified (e.g. “ARDMS online verification”)."
            )
        return data


class VerifyForm(ServiceErrorsMixin, forms.Form):
    note = forms.CharField(label="How it was verified", max_length=200, required=False)
    evidence = forms.FileField(label="Evidence (optional)", required=False)


class CECreditForm(ServiceErrorsMixin, forms.Form):
    activity = forms.CharField(max_length=200)
    provider = forms.CharField(max_length=120)
    completed_on = forms.DateField(label="Completed", widget=DATE)
    credits = forms.DecimalField(
        min_value=Decimal("0.25"), max_value=Decimal(100), decimal_places=2
    )
    category = forms.ChoiceField(choices=CreditCategory.choices)

    def clean_completed_on(self) -> Any:
        day = self.cleaned_data["completed_on"]
        if day > timezone.localdate():
            raise forms.ValidationError("The completion date is in the future.")
        return day


class SignOffForm(ServiceErrorsMixin, forms.Form):
    competency = forms.ModelChoiceField(queryset=Competency.objects.order_by("name"))
    signed_off_on = forms.DateField(label="Signed off", widget=DATE)
    observed_cases = forms.IntegerField(label="Observed cases", min_value=1, max_value=500)
    assessor = forms.ModelChoiceField(
        queryset=StaffMember.objects.none(), required=False, label="Assessor"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["assessor"]
        field.queryset = _clinical_staff()


class RevalidateForm(ServiceErrorsMixin, forms.Form):
    revalidated_on = forms.DateField(label="Re-validated", widget=DATE)
    assessor = forms.ModelChoiceField(
        queryset=StaffMember.objects.none(), required=False, label="Assessor"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["assessor"]
        field.queryset = _clinical_staff()


class PlanForm(ServiceErrorsMixin, forms.Form):
    target = forms.ModelChoiceField(
        queryset=Competency.objects.order_by("name"), label="Target competency"
    )
    required_cases = forms.IntegerField(
        label="Supervised cases required", min_value=1, max_value=500
    )
    mentor = forms.ModelChoiceField(queryset=StaffMember.objects.none(), required=False)
    started_on = forms.DateField(label="Start", widget=DATE)
    due_on = forms.DateField(label="Due", widget=DATE)
    status = forms.ChoiceField(choices=PlanStatus.choices, initial=PlanStatus.ACTIVE)
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["mentor"]
        field.queryset = _clinical_staff()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, due = data.get("started_on"), data.get("due_on")
        if start and due and due < start:
            self.add_error("due_on", "The due date is before the start date.")
        return data


class CaseForm(ServiceErrorsMixin, forms.Form):
    performed_on = forms.DateField(label="Date", widget=DATE)
    accession_number = forms.CharField(
        label="Accession number", max_length=16, required=False, help_text="Optional."
    )
    exam_type = forms.ModelChoiceField(
        queryset=ExamType.objects.filter(active=True).order_by("name"), required=False
    )
    supervisor = forms.ModelChoiceField(queryset=StaffMember.objects.none(), required=False)
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["supervisor"]
        field.queryset = _clinical_staff()
