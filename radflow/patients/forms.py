"""Forms for the patient pages. They parse and label input; the services hold the rules."""

from __future__ import annotations

from django import forms

from radflow.patients.languages import LANGUAGE_CHOICES
from radflow.patients.models import (
    AdministrativeSex,
    AllergyCategory,
    AllergySeverity,
    Patient,
)
from radflow.patients.services import PATIENT_FIELDS
from radflow.web.forms import ServiceErrorsMixin


class PatientForm(ServiceErrorsMixin, forms.ModelForm):  # type: ignore[type-arg]
    language = forms.ChoiceField(
        label="Preferred language",
        choices=LANGUAGE_CHOICES,
        initial="en",
        help_text="ISO 639-1 code",
    )
    sex = forms.ChoiceField(label="Administrative sex", choices=AdministrativeSex.choices)

    class Meta:
        model = Patient
        fields = PATIENT_FIELDS
        labels = {
            "family_name": "Family name",
            "given_name": "Given name",
            "middle_name": "Middle name",
            "birth_date": "Birth date",
            "interpreter_needed": "Interpreter needed",
            "address_line": "Address",
            "postal_code": "Postal code",
        }
        widgets = {"birth_date": forms.DateInput(attrs={"type": "date"})}

    def _post_clean(self) -> None:
        # The service validates and saves; a ModelForm would build and check the instance too.
        pass


class AllergyForm(ServiceErrorsMixin, forms.Form):
    substance = forms.CharField(max_length=120)
    category = forms.ChoiceField(choices=AllergyCategory.choices)
    severity = forms.ChoiceField(choices=AllergySeverity.choices, initial=AllergySeverity.MODERATE)
    reaction = forms.CharField(max_length=200, required=False)


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Search patients",
        required=False,
        help_text="MRN, birth date (YYYY-MM-DD) or name as “family, given”",
    )
