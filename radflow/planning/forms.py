"""Forms of the planning pages: start a plan (from the board), and the optimizer's weights."""

from __future__ import annotations

from django import forms

from radflow.planning.models import DepartmentSchedulingSettings, PlanKind
from radflow.scheduling.models import Site
from radflow.web.forms import ServiceErrorsMixin


class PlanStartForm(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.all(), to_field_name="pk")
    date = forms.DateField()
    kind = forms.ChoiceField(choices=PlanKind.choices, required=False)
    trigger = forms.CharField(max_length=200, required=False)
    #: Where to go back to when the plan cannot be started (the board).
    next = forms.CharField(max_length=300, required=False)


class SchedulingSettingsForm(ServiceErrorsMixin, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = DepartmentSchedulingSettings
        fields = [
            "stat_lateness_weight",
            "urgent_lateness_weight",
            "wait_weight",
            "overtime_weight",
            "idle_weight",
            "change_weight",
            "optimize_seconds",
            "replan_seconds",
        ]
