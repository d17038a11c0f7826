"""The director's target form, the department chooser of the targets page, and the dashboards'
filters."""

from __future__ import annotations

from typing import Any

from django import forms

from radflow.catalog.models import ExamType
from radflow.kpis.models import KpiDefinition
from radflow.scheduling.models import Department, Modality, Room, Site
from radflow.staff.models import JobRole, StaffMember
from radflow.web.forms import ServiceErrorsMixin
from radflow.web.widgets import QuickSelect


class DepartmentChoiceForm(forms.Form):
    department = forms.ModelChoiceField(
        queryset=Department.objects.select_related("site").order_by("site__name", "name"),
        required=False,
        empty_label="Defaults (every department)",
    )


class KpiTargetForm(ServiceErrorsMixin, forms.Form):
    kpi = forms.ModelChoiceField(
        label="KPI", queryset=KpiDefinition.objects.filter(active=True), to_field_name="code"
    )
    target = forms.FloatField(required=False, help_text="The line on the charts.")
    amber = forms.FloatField(
        label="Amber threshold",
        required=False,
        help_text="Green while at least this good; blank: the target.",
    )
    red = forms.FloatField(label="Red threshold", required=False, help_text="Red once worse.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if all(data.get(name) is None for name in ("target", "amber", "red")):
            raise forms.ValidationError("Enter a target or a threshold (or reset to the default).")
        return data


class DashboardFilterForm(forms.Form):
    """A dashboard's filters (GET): the date range, the grain of its trend lines, and one value
    of each dimension (empty: all). The modality lead's dashboard requires a modality."""

    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    grain = forms.ChoiceField(
        label="Trend by",
        choices=[("day", "Day"), ("week", "Week"), ("month", "Month")],
    )
    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"),
        required=False,
        empty_label="All sites",
        widget=QuickSelect,
    )
    modality = forms.ModelChoiceField(
        queryset=Modality.objects.order_by("code"),
        to_field_name="code",
        required=False,
        empty_label="All modalities",
        widget=QuickSelect,
    )
    room = forms.ModelChoiceField(
        queryset=Room.objects.select_related("site").order_by("site__name", "code"),
        required=False,
        empty_label="All rooms",
        widget=QuickSelect,
    )
    staff = forms.ModelChoiceField(
        label="Performed by",
        queryset=StaffMember.objects.filter(
            job_role__in=[JobRole.SONOGRAPHER, JobRole.TECHNOLOGIST]
        ).order_by("family_name", "given_name"),
        required=False,
        empty_label="Anyone",
        widget=QuickSelect,
    )
    exam_type = forms.ModelChoiceField(
        queryset=ExamType.objects.select_related("modality").order_by("modality_id", "name"),
        required=False,
        empty_label="All exam types",
        widget=QuickSelect,
    )

    #: The longest range a page computes (trend points stay readable, queries bounded).
    MAX_DAYS = 3 * 366

    def __init__(self, *args: Any, modality_required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if modality_required:
            field = self.fields["modality"]
            field.required = True
            field.empty_label = None  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The end date is before the start date.")
            elif (end - start).days >= self.MAX_DAYS:
                self.add_error("start", "Choose a range of at most three years.")
        return data


class DrilldownForm(DashboardFilterForm):
    """Which number's exams to list: the KPI, its bucket (``numerator``, ``breached``, a reason
    code; blank for the whole population) and the dashboard's filters."""

    kpi = forms.ChoiceField(label="KPI")
    bucket = forms.CharField(required=False, max_length=40)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from radflow.kpis.dashboards import drillable
        from radflow.kpis.selectors import kpi_definitions

        super().__init__(*args, **kwargs)
        self.fields["grain"].required = False
        self.definitions = {d.code: d for d in kpi_definitions() if drillable(d.code)}
        kpi = self.fields["kpi"]
        if isinstance(kpi, forms.ChoiceField):
            kpi.choices = [(code, d.name) for code, d in self.definitions.items()]

    def clean(self) -> dict[str, Any]:
        from radflow.kpis.dashboards import bucket_allowed

        data = super().clean()
        code, bucket = data.get("kpi"), data.get("bucket") or ""
        if code and not bucket_allowed(code, bucket):
            self.add_error("bucket", "This KPI has no such part to list.")
        return data

    @property
    def definition(self) -> Any:
        return self.definitions.get(self.cleaned_data.get("kpi", ""))
