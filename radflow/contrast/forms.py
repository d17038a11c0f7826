"""Forms for the contrast pages; the rules themselves are checked again in ``services``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone

from radflow.contrast.models import (
    AGENT_CLASS_CHOICES,
    GRADE_CHOICES,
    SYMPTOMS,
    ContrastAgent,
    EgfrSource,
    GbcaGroup,
    PremedRoute,
    ReactionKind,
    ReactionOutcome,
    Route,
)
from radflow.contrast.services import DoseInput
from radflow.supplies.models import Item, ItemCategory, Lot
from radflow.web.forms import ServiceErrorsMixin

DATE = forms.DateInput(attrs={"type": "date"})
#: ``<input type="datetime-local">`` sends this; the value is read in the department's zone.
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
#: Premedication doses offered on the page (the API takes any number).
PREMED_ROWS = 3

#: ACR Manual on Contrast Media premedication regimens, as the page offers them.
PREMED_PROTOCOLS = [
    (
        "ACR elective oral: prednisone 13 h",
        "ACR elective oral: prednisone 50 mg 13, 7 and 1 h before + diphenhydramine 50 mg 1 h "
        "before",
    ),
    (
        "ACR elective oral: methylprednisolone 12 h",
        "ACR elective oral: methylprednisolone 32 mg 12 and 2 h before (± diphenhydramine)",
    ),
    (
        "ACR accelerated IV (4-5 h)",
        "ACR accelerated IV: methylprednisolone 40 mg or hydrocortisone 200 mg IV now and every "
        "4 h + diphenhydramine 50 mg IV 1 h before",
    ),
    ("Other (see note)", "Other: described in the note"),
]


def _datetime_field(label: str, *, required: bool = True, help_text: str = "") -> Any:
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=help_text,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )


def _now_local() -> datetime:
    return timezone.localtime().replace(second=0, microsecond=0)


class AgentForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=120, help_text="Generic name and strength: Iohexol 350.")
    brand = forms.CharField(max_length=80, required=False)
    manufacturer = forms.CharField(max_length=80, required=False)
    agent_class = forms.ChoiceField(label="Class", choices=AGENT_CLASS_CHOICES)
    gbca_group = forms.ChoiceField(
        label="ACR GBCA group", choices=GbcaGroup.choices, required=False
    )
    concentration = forms.DecimalField(max_digits=8, decimal_places=2, required=False)
    concentration_unit = forms.CharField(max_length=16, required=False)
    routes = forms.MultipleChoiceField(
        choices=Route.choices, widget=forms.CheckboxSelectMultiple, label="Routes"
    )
    dose_unit = forms.CharField(max_length=8, initial="mL")
    supply_item: forms.ModelChoiceField[Item] = forms.ModelChoiceField(
        queryset=Item.objects.none(),
        required=False,
        label="Supply item",
        help_text="The lot-tracked contrast item in supplies whose lots the doses come from.",
    )
    safety_programme = forms.CharField(
        max_length=120, required=False, label="Safety programme (where reactions are reported)"
    )
    active = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, agent: ContrastAgent | None = None, **kwargs: Any) -> None:
        if agent is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": agent.name,
                "brand": agent.brand,
                "manufacturer": agent.manufacturer,
                "agent_class": agent.agent_class,
                "gbca_group": agent.gbca_group,
                "concentration": agent.concentration,
                "concentration_unit": agent.concentration_unit,
                "routes": agent.routes,
                "dose_unit": agent.dose_unit,
                "supply_item": agent.supply_item_id,
                "safety_programme": agent.safety_programme,
                "active": agent.active,
            }
        super().__init__(*args, **kwargs)
        field: Any = self.fields["supply_item"]
        field.queryset = Item.objects.filter(category=ItemCategory.CONTRAST).order_by("name")


class RequirementForm(ServiceErrorsMixin, forms.Form):
    gives_contrast = forms.BooleanField(
        required=False, label="This exam type takes contrast", initial=True
    )
    agent_class = forms.ChoiceField(label="Agent class", choices=AGENT_CLASS_CHOICES)
    egfr_required = forms.BooleanField(required=False, label="eGFR required")
    egfr_window_days = forms.IntegerField(
        label="eGFR window (days)", min_value=1, max_value=365, initial=30
    )
    egfr_minimum = forms.DecimalField(
        label="eGFR minimum (mL/min/1.73 m²)",
        max_digits=5,
        decimal_places=1,
        min_value=Decimal(0),
        initial=Decimal(30),
    )
    reaction_screening = forms.BooleanField(
        required=False,
        label="Screen for prior reactions (moderate or severe needs premedication)",
    )


class LotChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        expiry = f"expires {obj.expiry_date:%Y-%m-%d}" if obj.expiry_date else "no expiry"
        return f"{obj.item.name} — lot {obj.lot_number}, {expiry}"


class AdministrationForm(ServiceErrorsMixin, forms.Form):
    agent = forms.ModelChoiceField(queryset=ContrastAgent.objects.none())
    lot = LotChoiceField(
        queryset=Lot.objects.none(),
        required=False,
        empty_label="First to expire (from the room's shelf)",
        help_text="Scan or choose the lot on the vial; recalled and expired lots are refused.",
    )
    dose = forms.DecimalField(max_digits=7, decimal_places=2, min_value=Decimal("0.01"))
    dose_unit = forms.CharField(max_length=8, initial="mL", label="Unit")
    route = forms.ChoiceField(choices=Route.choices, initial=Route.INTRAVENOUS)
    injection_site = forms.CharField(
        max_length=80, required=False, help_text="Right antecubital, 20 G; port; oral."
    )
    flow_rate = forms.DecimalField(
        max_digits=4, decimal_places=1, required=False, label="Flow rate (mL/s)"
    )
    given_at = _datetime_field("Given at")
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, agent_class: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("given_at", _now_local())
        super().__init__(*args, **kwargs)
        agents = ContrastAgent.objects.filter(active=True)
        if agent_class:
            agents = agents.filter(agent_class=agent_class)
        agent_field: Any = self.fields["agent"]
        agent_field.queryset = agents.order_by("name")
        today = timezone.localdate()
        lot_field: Any = self.fields["lot"]
        lot_field.queryset = (
            Lot.objects.filter(
                item__category=ItemCategory.CONTRAST,
                item__contrast_agent__in=agents,
                recalled_at__isnull=True,
            )
            .exclude(expiry_date__lt=today)
            .select_related("item")
            .order_by("item__name", "expiry_date", "lot_number")
        )


class PremedicationForm(ServiceErrorsMixin, forms.Form):
    protocol = forms.ChoiceField(choices=PREMED_PROTOCOLS)
    ordered_by = forms.CharField(max_length=120, required=False, label="Ordered by")
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for n in range(1, PREMED_ROWS + 1):
            self.fields[f"drug_{n}"] = forms.CharField(
                max_length=80, required=False, label=f"Dose {n}: drug"
            )
            self.fields[f"dose_{n}"] = forms.CharField(
                max_length=40, required=False, label=f"Dose {n}: amount (50 mg)"
            )
            self.fields[f"route_{n}"] = forms.ChoiceField(
                choices=PremedRoute.choices, label=f"Dose {n}: route", required=False
            )
            self.fields[f"given_at_{n}"] = _datetime_field(f"Dose {n}: given at", required=False)
            self.fields[f"given_by_{n}"] = forms.CharField(
                max_length=120, required=False, label=f"Dose {n}: given by"
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("protocol", "").startswith("Other") and not data.get("note"):
            self.add_error("note", "Describe the protocol in the note.")
        return data

    def doses(self) -> list[DoseInput]:
        data = self.cleaned_data
        return [
            DoseInput(
                drug=data.get(f"drug_{n}", ""),
                dose=data.get(f"dose_{n}", ""),
                route=data.get(f"route_{n}", "") or "",
                given_at=data.get(f"given_at_{n}"),
                given_by=data.get(f"given_by_{n}", ""),
            )
            for n in range(1, PREMED_ROWS + 1)
        ]


class EgfrForm(ServiceErrorsMixin, forms.Form):
    value = forms.DecimalField(
        label="eGFR (mL/min/1.73 m²)", max_digits=5, decimal_places=1, min_value=Decimal(0)
    )
    measured_on = forms.DateField(label="Result date", widget=DATE)
    source = forms.ChoiceField(
        choices=[(v, label) for v, label in EgfrSource.choices if v != EgfrSource.INTAKE],
        initial=EgfrSource.LAB,
    )
    reference = forms.CharField(max_length=60, required=False, label="Lab reference")


class ReactionForm(ServiceErrorsMixin, forms.Form):
    onset_at = _datetime_field("Onset")
    grade = forms.ChoiceField(choices=GRADE_CHOICES, widget=forms.RadioSelect)
    kind = forms.ChoiceField(
        choices=ReactionKind.choices,
        initial=ReactionKind.ALLERGIC_LIKE,
        help_text="Allergic-like reactions are added to the patient's allergies.",
    )
    symptoms = forms.MultipleChoiceField(
        choices=list(SYMPTOMS.items()), widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="What happened"
    )
    treatment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Drugs with doses, oxygen, fluids — or “observation only”.",
    )
    outcome = forms.ChoiceField(choices=ReactionOutcome.choices)
    reported_to_programme = forms.BooleanField(
        required=False, label="Reported to the agent's safety programme"
    )
    reported_on = forms.DateField(required=False, widget=DATE, label="Reported on")
    report_reference = forms.CharField(max_length=60, required=False, label="Report reference")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("onset_at", _now_local())
        super().__init__(*args, **kwargs)


class ReportForm(ServiceErrorsMixin, forms.Form):
    reported_on = forms.DateField(widget=DATE, label="Reported on")
    reference = forms.CharField(max_length=60, required=False, label="Report reference")
