"""Forms for the referral pages. They parse and label input; ``orders.services`` holds the rules."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django import forms

from radflow.billing.models import Payer
from radflow.catalog.models import ExamType
from radflow.core.errors import ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.core.icd10 import parse_icd10_list
from radflow.orders.models import (
    AttachmentKind,
    CompletenessRule,
    Order,
    OrderPatientClass,
    OutreachAction,
    Priority,
    Requirement,
)
from radflow.scheduling.models import Modality
from radflow.web.forms import ServiceErrorsMixin

DATE_INPUT = forms.DateInput(attrs={"type": "date"})

#: Order fields the referral form edits, passed to ``order_create`` / ``order_update`` as they are.
FORM_ORDER_FIELDS = (
    "priority",
    "patient_class",
    "payer",
    "ordering_provider",
    "ordering_provider_npi",
    "ordering_location",
    "ordering_phone",
    "clinical_indication",
    "signed_order",
    "prior_imaging_note",
    "lmp_date",
    "requested_date",
    "notes",
)


def exam_type_choices(current: ExamType | None = None) -> list[Any]:
    """Active exam types grouped by modality (the order's own type stays listed if retired)."""
    rows = ExamType.objects.filter(active=True).select_related("modality")
    types = list(rows.order_by("modality__code", "name"))
    if current is not None and all(t.pk != current.pk for t in types):
        types.append(current)
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for exam_type in types:
        groups[str(exam_type.modality)].append((exam_type.code, exam_type.name))
    return [("", "Choose an exam type"), *sorted(groups.items())]


class OrderForm(ServiceErrorsMixin, forms.Form):
    """The referral: who it is for, what is asked, and what the completeness rules look at."""

    patient = forms.UUIDField(required=False, widget=forms.HiddenInput)
    mrn = forms.CharField(
        label="Patient MRN", required=False, max_length=32, help_text="The patient's exact MRN."
    )
    exam_type = forms.ChoiceField(label="Exam type", choices=())
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.ROUTINE)
    patient_class = forms.ChoiceField(
        label="Patient class",
        choices=OrderPatientClass.choices,
        initial=OrderPatientClass.OUTPATIENT,
    )
    payer = forms.ModelChoiceField(
        queryset=Payer.objects.filter(active=True), required=False, empty_label="No payer / unknown"
    )
    ordering_provider = forms.CharField(label="Ordering provider", required=False, max_length=120)
    ordering_provider_npi = forms.CharField(
        label="Ordering provider NPI", required=False, max_length=10
    )
    ordering_location = forms.CharField(label="Ordering location", required=False, max_length=120)
    ordering_phone = forms.CharField(label="Referrer phone", required=False, max_length=40)
    clinical_indication = forms.CharField(
        label="Clinical indication", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    diagnosis_codes = forms.CharField(
        label="Diagnosis codes (ICD-10-CM)",
        required=False,
        help_text="Separate codes with commas, e.g. R10.11, K80.20",
        widget=forms.TextInput(attrs={"list": "icd10-codes", "autocomplete": "off"}),
    )
    signed_order = forms.BooleanField(label="Signed order on file", required=False)
    prior_imaging_note = forms.CharField(
        label="Prior imaging", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    lmp_date = forms.DateField(
        label="Last menstrual period (LMP)", required=False, widget=DATE_INPUT
    )
    requested_date = forms.DateField(label="Requested date", required=False, widget=DATE_INPUT)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, order: Order | None = None, **kwargs: Any) -> None:
        if order is not None and "initial" not in kwargs:
            kwargs["initial"] = order_initial(order)
        super().__init__(*args, **kwargs)
        self.order = order
        exam_type_field: Any = self.fields["exam_type"]
        exam_type_field.choices = exam_type_choices(order.exam_type if order else None)
        if order is not None:
            # The patient of an existing order is not changed here.
            del self.fields["patient"], self.fields["mrn"]

    def clean_diagnosis_codes(self) -> list[str]:
        try:
            return parse_icd10_list(self.cleaned_data.get("diagnosis_codes") or "")
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.errors["diagnosis_codes"]) from exc

    def service_values(self) -> dict[str, Any]:
        """Cleaned values in the services' terms (exam type by code, text stripped)."""
        data = self.cleaned_data
        values = {name: data[name] for name in FORM_ORDER_FIELDS}
        values["exam_type"] = data["exam_type"]
        return values


def order_initial(order: Order) -> dict[str, Any]:
    initial: dict[str, Any] = {name: getattr(order, name) for name in FORM_ORDER_FIELDS}
    initial["payer"] = order.payer_id
    initial["exam_type"] = order.exam_type.code
    initial["diagnosis_codes"] = ", ".join(d.code for d in order.diagnoses.all())
    return initial


class OrderFilterForm(forms.Form):
    q = forms.CharField(label="Accession, MRN or name", required=False, max_length=80)
    priority = forms.ChoiceField(choices=[("", "Any priority"), *Priority.choices], required=False)
    state = forms.ChoiceField(
        label="Exam state",
        choices=[("", "Any state"), *((s.value, s.label) for s in ExamState)],
        required=False,
    )
    modality = forms.ModelChoiceField(
        queryset=Modality.objects.order_by("code"), required=False, empty_label="All modalities"
    )
    complete = forms.ChoiceField(
        label="Documentation",
        choices=[("", "Complete or not"), ("yes", "Complete"), ("no", "Incomplete")],
        required=False,
    )
    received_from = forms.DateField(label="Received from", required=False, widget=DATE_INPUT)
    received_to = forms.DateField(label="Received to", required=False, widget=DATE_INPUT)

    def filters(self) -> dict[str, Any]:
        """The valid filters that were given; a bad value is simply ignored."""
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value}


class AttachmentForm(ServiceErrorsMixin, forms.Form):
    kind = forms.ChoiceField(choices=AttachmentKind.choices)
    file = forms.FileField(help_text="PDF, PNG, JPEG, TIFF or text, up to 20 MB.")


class OutreachForm(ServiceErrorsMixin, forms.Form):
    action = forms.ChoiceField(choices=OutreachAction.choices)
    note = forms.CharField(required=False, max_length=1000)


class CompletenessRuleForm(ServiceErrorsMixin, forms.Form):
    requirement = forms.ChoiceField(choices=Requirement.choices)
    exam_type = forms.ModelChoiceField(
        queryset=ExamType.objects.select_related("modality").order_by("modality__code", "name"),
        required=False,
        empty_label="All exam types",
        label="Exam type",
    )
    payer = forms.ModelChoiceField(
        queryset=Payer.objects.all(), required=False, empty_label="Any payer"
    )
    active = forms.BooleanField(required=False, initial=True)
    note = forms.CharField(required=False, max_length=200)

    @classmethod
    def for_rule(cls, rule: CompletenessRule, data: Any = None) -> CompletenessRuleForm:
        initial = {
            "requirement": rule.requirement,
            "exam_type": rule.exam_type_id,
            "payer": rule.payer_id,
            "active": rule.active,
            "note": rule.note,
        }
        return cls(data, initial=initial, prefix=None)
