"""Forms of the planning pages: start a plan (from the board), and the optimizer's weights."""

from __future__ import annotations

from typing import Any

from django import forms

from radflow.core.errors import ValidationFailed
from radflow.planning.models import DepartmentSchedulingSettings, PlanKind
from radflow.scheduling.models import Site


class ServiceErrorsMixin:
    """Put a service's ``ValidationFailed`` on the matching fields (or the form as a whole)."""

    def add_service_errors(self, exc: ValidationFailed) -> None:
        form: Any = self
        for name, messages in exc.errors.items():
            target = name if name in form.fields else None
            for message in messages:
                form.add_error(target, message)


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
