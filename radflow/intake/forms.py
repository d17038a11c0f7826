"""Forms for the intake page. They parse and label input; ``intake.services`` holds the rules."""

from __future__ import annotations

from typing import Any

from django import forms

from radflow.intake.models import ConsentMethod, IdentityMethod, ScreeningResult
from radflow.patients.languages import LANGUAGE_CHOICES
from radflow.web.forms import ServiceErrorsMixin

#: Touch-friendly yes/no/unknown for nullable booleans (a checkbox cannot say "not asked").
YES_NO_UNKNOWN = [("", "Not asked"), ("yes", "Yes"), ("no", "No")]

SCREENING_ANSWERS = [
    ("", "Choose…"),
    ("no", "No"),
    ("yes", "Yes"),
    ("possibly", "Possibly / unsure"),
    ("not applicable", "Not applicable"),
]

ISOLATION_CHOICES = [
    ("", "None"),
    ("contact", "Contact"),
    ("droplet", "Droplet"),
    ("airborne", "Airborne"),
    ("contact + droplet", "Contact and droplet"),
    ("neutropenic", "Protective (neutropenic)"),
]


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


class SectionIdsMixin:
    """Give each section's inputs their own id prefix: the page holds all the forms at once."""

    id_prefix = "intake"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


class IdentityForm(SectionIdsMixin, ServiceErrorsMixin, forms.Form):
    id_prefix = "identity"

    method = forms.ChoiceField(
        label="Identifiers used",
        choices=IdentityMethod.choices,
        initial=IdentityMethod.NAME_BIRTH_DATE,
        widget=forms.RadioSelect,
    )
    family_name = forms.CharField(label="Family name", max_length=80, required=False)
    given_name = forms.CharField(label="Given name", max_length=80, required=False)
    birth_date = forms.DateField(
        label="Birth date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    mrn = forms.CharField(label="MRN", max_length=32, required=False)


class ScreeningForm(ServiceErrorsMixin, forms.Form):
    item_code = forms.CharField(widget=forms.HiddenInput)
    answer = forms.ChoiceField(label="Answer", choices=SCREENING_ANSWERS)
    note = forms.CharField(
        label="Details", max_length=150, required=False, help_text="Reaction, device, plan …"
    )
    result = forms.ChoiceField(label="Result", choices=ScreeningResult.choices)
    value_date = forms.DateField(
        label="Date", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    value_number = forms.DecimalField(
        label="Value", required=False, max_digits=7, decimal_places=2, min_value=0
    )

    def __init__(
        self, *args: Any, date_label: str = "", number_label: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # Only the questions that carry a date or a number show those inputs.
        if date_label:
            self.fields["value_date"].label = date_label
        else:
            self.fields["value_date"].widget = forms.HiddenInput()
        if number_label:
            self.fields["value_number"].label = number_label
        else:
            self.fields["value_number"].widget = forms.HiddenInput()


class ConsentForm(SectionIdsMixin, ServiceErrorsMixin, forms.Form):
    id_prefix = "consent"

    method = forms.ChoiceField(
        label="How consent is given",
        choices=ConsentMethod.choices,
        initial=ConsentMethod.SIGNATURE,
        widget=forms.RadioSelect,
    )
    signer_name = forms.CharField(label="Signer's name", max_length=120)
    signer_relationship = forms.CharField(
        label="Relationship to the patient",
        max_length=40,
        initial="self",
        help_text="self, parent, guardian, health care proxy …",
    )
    signature_svg = forms.CharField(required=False, widget=forms.HiddenInput)
    witness_name = forms.CharField(
        label="Witness",
        max_length=120,
        required=False,
        help_text="Required when the name is typed instead of signed.",
    )


class PrepForm(SectionIdsMixin, ServiceErrorsMixin, forms.Form):
    id_prefix = "prep"

    prep_ok = forms.ChoiceField(
        label="Preparation followed?",
        choices=[("yes", "Yes, followed"), ("no", "No, not followed")],
        widget=forms.RadioSelect,
    )
    npo_since = forms.DateTimeField(
        label="Nothing by mouth since",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    full_bladder = forms.ChoiceField(label="Full bladder", choices=YES_NO_UNKNOWN, required=False)
    medication_hold = forms.CharField(
        label="Medication held", max_length=200, required=False, help_text="Which and since when."
    )
    fall_risk = forms.ChoiceField(label="Fall risk", choices=YES_NO_UNKNOWN, required=False)
    isolation = forms.ChoiceField(
        label="Isolation precautions", choices=ISOLATION_CHOICES, required=False
    )
    note = forms.CharField(label="Note", max_length=150, required=False)

    def __init__(self, *args: Any, prep_required: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prep_required = prep_required
        if not prep_required:
            # No preparation to verify: only the general safety questions are asked.
            for name in ("prep_ok", "npo_since", "full_bladder", "medication_hold"):
                del self.fields[name]

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        values: dict[str, Any] = {
            "prep_ok": data.get("prep_ok", "yes") == "yes",
            "fall_risk": _yes_no(data.get("fall_risk", "")),
            "isolation": data.get("isolation", ""),
            "note": data.get("note", ""),
        }
        if self.prep_required:
            values |= {
                "npo_since": data.get("npo_since"),
                "full_bladder": _yes_no(data.get("full_bladder", "")),
                "medication_hold": data.get("medication_hold", ""),
            }
        return values


class InterpreterForm(SectionIdsMixin, ServiceErrorsMixin, forms.Form):
    id_prefix = "interpreter"

    language = forms.ChoiceField(label="Language", choices=LANGUAGE_CHOICES)
    interpreter_id = forms.CharField(label="Interpreter ID", max_length=40)
    mode = forms.ChoiceField(
        label="Mode",
        choices=[("in_person", "In person"), ("phone", "Phone"), ("video", "Video")],
        widget=forms.RadioSelect,
        initial="in_person",
    )
