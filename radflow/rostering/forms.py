"""Forms for the roster pages. They parse and label input; ``rostering.services`` holds the rules.

The checks here (a Monday start, 4-6 weeks, an end not before the start, a partner who is not
yourself) are the ones a person can fix on the form itself; the services check them again, and
everything that needs the whole roster (rules, cover) is theirs alone.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from radflow.rostering.models import (
    CoverageRequirement,
    LeaveKind,
    Roster,
    RosterSettings,
    RosterStatus,
    ShiftType,
    StaffRosterRules,
)
from radflow.rostering.services import SHIFT_TYPE_FIELDS
from radflow.staff.models import StaffMember
from radflow.web.forms import ServiceErrorsMixin

DATE_INPUT = forms.DateInput(attrs={"type": "date"})
TIME_INPUT = forms.TimeInput(attrs={"type": "time"})

#: How long a generated roster may be: the solver is tuned (and tested) for 4-6 weeks.
MIN_WEEKS = 4
MAX_WEEKS = 6

WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


def _ordered(start: date | None, end: date | None, form: forms.Form) -> None:
    if start and end and end < start:
        form.add_error("end", "The last day cannot be before the first day.")


class RosterCreateForm(ServiceErrorsMixin, forms.Form):
    start = forms.DateField(label="First day", widget=DATE_INPUT, help_text="A Monday.")
    weeks = forms.IntegerField(
        label="Weeks",
        initial=MIN_WEEKS,
        help_text=f"Between {MIN_WEEKS} and {MAX_WEEKS} weeks.",
        widget=forms.NumberInput(attrs={"min": MIN_WEEKS, "max": MAX_WEEKS}),
    )

    def clean_start(self) -> date:
        start: date = self.cleaned_data["start"]
        if start.weekday() != 0:
            raise forms.ValidationError(
                f"A roster starts on a Monday; {start:%A %d %B %Y} is a {start:%A}."
            )
        return start

    def clean_weeks(self) -> int:
        weeks: int = self.cleaned_data["weeks"]
        if not MIN_WEEKS <= weeks <= MAX_WEEKS:
            raise forms.ValidationError(
                f"A roster covers {MIN_WEEKS} to {MAX_WEEKS} weeks, not {weeks}."
            )
        return weeks


class LeaveRequestForm(ServiceErrorsMixin, forms.Form):
    kind = forms.ChoiceField(label="Kind", choices=LeaveKind.choices, initial=LeaveKind.ANNUAL)
    start = forms.DateField(label="First day", widget=DATE_INPUT)
    end = forms.DateField(label="Last day", widget=DATE_INPUT)
    note = forms.CharField(label="Note", required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _ordered(data.get("start"), data.get("end"), self)
        return data


class PreferenceForm(ServiceErrorsMixin, forms.Form):
    wants = forms.TypedChoiceField(
        label="I would like",
        choices=[("0", "to be off"), ("1", "to work")],
        coerce=lambda value: value == "1",
        initial="0",
    )
    shift_type = forms.ModelChoiceField(
        label="Shift",
        queryset=ShiftType.objects.filter(active=True).select_related("site"),
        required=False,
        empty_label="Any shift (the whole day)",
    )
    weekday = forms.TypedChoiceField(
        label="Every",
        choices=[("", "—"), *WEEKDAYS],
        coerce=int,
        empty_value=None,
        required=False,
    )
    on_date = forms.DateField(label="Or on", widget=DATE_INPUT, required=False)
    weight = forms.IntegerField(
        label="How much it matters (1-100)",
        min_value=1,
        max_value=100,
        initial=5,
        help_text="The solver gives up the lighter wishes first.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        has_weekday = data.get("weekday") is not None
        if not has_weekday and not data.get("on_date"):
            raise forms.ValidationError("Choose a weekday or a date.")
        if has_weekday and data.get("on_date"):
            raise forms.ValidationError("Choose a weekday or a date, not both.")
        return data


def published_rosters() -> Any:
    return Roster.objects.filter(status=RosterStatus.PUBLISHED).order_by("-start")


class SwapRequestForm(ServiceErrorsMixin, forms.Form):
    roster = forms.ModelChoiceField(
        label="Roster", queryset=Roster.objects.none(), empty_label=None
    )
    give_date = forms.DateField(label="The day I give", widget=DATE_INPUT)
    partner = forms.ModelChoiceField(
        label="Colleague", queryset=StaffMember.objects.none(), empty_label="Choose a colleague"
    )
    take_date = forms.DateField(
        label="The day I take in return",
        widget=DATE_INPUT,
        required=False,
        help_text="Leave empty to give the shift away.",
    )
    note = forms.CharField(label="Note", required=False, max_length=200)

    def __init__(self, *args: Any, requester: StaffMember | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.requester = requester
        roster_field: Any = self.fields["roster"]
        roster_field.queryset = published_rosters()
        partner_field: Any = self.fields["partner"]
        partner_field.queryset = StaffMember.objects.filter(active=True).order_by(
            "family_name", "given_name"
        )

    def clean_partner(self) -> StaffMember:
        partner: StaffMember = self.cleaned_data["partner"]
        if self.requester is not None and partner.pk == self.requester.pk:
            raise forms.ValidationError("Choose a colleague: you cannot swap with yourself.")
        return partner

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        roster: Roster | None = data.get("roster")
        for name in ("give_date", "take_date"):
            day = data.get(name)
            if roster is not None and day is not None and not roster.start <= day <= roster.end:
                self.add_error(
                    name, f"{day:%d %b %Y} is outside the roster ({roster.start} to {roster.end})."
                )
        return data


class DeclineForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=200)


class SickCallForm(ServiceErrorsMixin, forms.Form):
    staff = forms.ModelChoiceField(
        label="Who is sick",
        queryset=StaffMember.objects.filter(active=True).order_by("family_name", "given_name"),
        empty_label="Choose a person",
    )
    start = forms.DateField(label="First day off sick", widget=DATE_INPUT)
    end = forms.DateField(label="Last day off sick", widget=DATE_INPUT)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _ordered(data.get("start"), data.get("end"), self)
        return data


# --- setup -------------------------------------------------------------------------------------


class ShiftTypeForm(ServiceErrorsMixin, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ShiftType
        fields = list(SHIFT_TYPE_FIELDS)
        widgets = {"start": TIME_INPUT, "end": TIME_INPUT}
        help_texts = {
            "end": "At or before the start: the shift ends the next day.",
            "callback_minutes": "On-call only: how soon the person must reach the site.",
        }


class CoverageForm(ServiceErrorsMixin, forms.ModelForm):  # type: ignore[type-arg]
    weekday = forms.TypedChoiceField(
        label="Every",
        choices=[("", "—"), *WEEKDAYS],
        coerce=int,
        empty_value=None,
        required=False,
    )

    class Meta:
        model = CoverageRequirement
        fields = [
            "shift_type",
            "weekday",
            "on_date",
            "modality",
            "competency",
            "minimum",
            "preferred",
        ]
        widgets = {"on_date": DATE_INPUT}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("weekday") is None and not data.get("on_date"):
            raise forms.ValidationError("Choose a weekday or a date.")
        minimum, preferred = data.get("minimum"), data.get("preferred")
        if minimum is not None and preferred is not None and preferred < minimum:
            self.add_error("preferred", "Preferred cover cannot be below the minimum.")
        return data


class StaffRulesForm(ServiceErrorsMixin, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = StaffRosterRules
        fields = [
            "rostered",
            "contracted_minutes_per_week",
            "flex_minutes_per_week",
            "max_consecutive_days",
            "min_consecutive_days",
            "min_consecutive_days_off",
            "max_weekends_per_4_weeks",
            "max_nights_per_4_weeks",
            "max_on_call_per_4_weeks",
            "shift_types",
        ]
        widgets = {"shift_types": forms.CheckboxSelectMultiple}


class RosterSettingsForm(ServiceErrorsMixin, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = RosterSettings
        fields = [
            "min_rest_hours",
            "under_cover_weight",
            "over_cover_weight",
            "leave_request_weight",
            "fairness_nights_weight",
            "fairness_weekends_weight",
            "fairness_holidays_weight",
            "fairness_on_call_weight",
            "change_weight",
            "solve_seconds",
        ]
