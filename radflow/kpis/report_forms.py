"""Forms of the monthly report pack's pages: which pack to build, and its commentary."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms

from radflow.kpis.report_models import ReportPack
from radflow.scheduling.models import Department
from radflow.web.forms import ServiceErrorsMixin


class MonthField(forms.CharField):
    """``YYYY-MM`` (a browser's month input) as the first day of that month."""

    widget = forms.DateInput(attrs={"type": "month"})

    def to_python(self, value: Any) -> date | None:  # type: ignore[override]
        text = str(value or "").strip()
        if not text:
            return None
        try:
            return date.fromisoformat(f"{text[:7]}-01")
        except ValueError:
            raise forms.ValidationError("Enter a month as YYYY-MM.") from None

    def prepare_value(self, value: Any) -> Any:
        return value.strftime("%Y-%m") if isinstance(value, date) else value


class BuildForm(ServiceErrorsMixin, forms.Form):
    month = MonthField(label="Month")
    department = forms.ModelChoiceField(
        queryset=Department.objects.select_related("site").order_by("site__name", "name"),
        required=False,
        empty_label="All sites",
    )


class CommentaryForm(ServiceErrorsMixin, forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ReportPack
        fields = ["summary", "highlights", "concerns", "actions"]
        widgets = {name: forms.Textarea(attrs={"rows": 4}) for name in fields}
        help_texts = {
            "summary": "Printed on the cover; required to publish.",
            "actions": "What the department will do about the amber and red KPIs.",
        }
