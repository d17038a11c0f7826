"""Forms of the infection pages; they parse and label input, the rules stay in
``infection.services``."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from radflow.infection import selectors
from radflow.infection.models import (
    AgentKind,
    CheckFrequency,
    DisinfectionAgent,
    GelType,
    IndicatorResult,
    PassFail,
    Reprocessing,
    ReprocessingDevice,
    ReprocessingMethod,
    ReprocessorKind,
)
from radflow.scheduling.models import DeviceStatus, Room
from radflow.web.forms import ServiceErrorsMixin

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _datetime(label: str, required: bool = False, help_text: str = "") -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        help_text=help_text,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )


class ScanForm(forms.Form):
    """The reprocessing room's one big input: a barcode scanner types the serial and Enter."""

    serial = forms.CharField(
        label="Probe serial number",
        max_length=64,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "inputmode": "text",
                "placeholder": "Scan or type the serial",
                "class": "scan-input",
            }
        ),
    )


class _AgentChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        agent: DisinfectionAgent = obj
        return f"{agent.name} — lot {agent.lot_number} (exp. {agent.expires_on:%Y-%m-%d})"


class _DeviceChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        device: ReprocessingDevice = obj
        where = f" — {device.room.name}" if device.room else ""
        return f"{device.name}{where}"


class CycleForm(ServiceErrorsMixin, forms.Form):
    """One cycle, in as few taps as the room allows: the device and agent the operator used last
    are pre-selected; the two readings are asked every time."""

    method = forms.ChoiceField(
        choices=ReprocessingMethod.choices, widget=forms.RadioSelect, label="Method"
    )
    device = _DeviceChoice(queryset=ReprocessingDevice.objects.none(), required=False)
    agent = _AgentChoice(
        queryset=DisinfectionAgent.objects.none(), required=False, label="Disinfectant"
    )
    cycle_id = forms.CharField(label="Cycle ID", max_length=40, required=False)
    indicator = forms.ChoiceField(
        label="Chemical indicator / test strip",
        choices=IndicatorResult.choices,
        widget=forms.RadioSelect,
    )
    result = forms.ChoiceField(
        label="Cycle result", choices=PassFail.choices, widget=forms.RadioSelect
    )
    exposure_met = forms.BooleanField(
        label="Minimum exposure time met", required=False, initial=True
    )
    started_at = _datetime("Started", help_text="Leave empty: the device's cycle time before now.")
    ended_at = _datetime("Ended", help_text="Leave empty: now.")
    note = forms.CharField(max_length=200, required=False)

    def __init__(
        self,
        data: Any = None,
        *,
        probe: Any = None,
        last: Reprocessing | None = None,
        today: date | None = None,
        **kwargs: Any,
    ) -> None:
        initial: dict[str, Any] = {"exposure_met": True}
        if probe is not None:
            initial["method"] = (
                ReprocessingMethod.STERILIZATION
                if probe.spaulding_class == "critical"
                else ReprocessingMethod.HLD_AUTOMATED
                if probe.spaulding_class == "semi_critical"
                else ReprocessingMethod.LLD_WIPE
            )
        if last is not None:
            if last.device_id is not None:
                initial["device"] = last.device_id
            initial["agent"] = last.agent_id
            if probe is not None and probe.spaulding_class == "semi_critical":
                initial["method"] = last.method
        devices = selectors.usable_devices().order_by("name")
        if "device" not in initial and probe is not None:
            initial["device"] = _nearest_device(probe, list(devices))
        super().__init__(data, initial=initial, **kwargs)
        device: Any = self.fields["device"]
        device.queryset = devices
        agent: Any = self.fields["agent"]
        agent.queryset = selectors.usable_agents(today or timezone.localdate()).order_by(
            "name", "expires_on"
        )


def _nearest_device(probe: Any, devices: list[ReprocessingDevice]) -> Any:
    """The device a probe is most likely reprocessed in: its own room's, else its site's."""
    room = probe.device.room if probe.device is not None else None
    if room is None:
        return devices[0].pk if len(devices) == 1 else None
    for candidate in devices:
        if candidate.room_id == room.pk:
            return candidate.pk
    for candidate in devices:
        if candidate.room is not None and candidate.room.site_id == room.site_id:
            return candidate.pk
    return None


class AttachForm(ServiceErrorsMixin, forms.Form):
    serial = forms.CharField(
        label="Probe serial number",
        max_length=64,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "placeholder": "Scan, type or pick below"}
        ),
    )
    cover_used = forms.BooleanField(label="Probe cover used", required=False)
    cover_lot = forms.CharField(label="Cover lot", max_length=40, required=False)
    gel = forms.ChoiceField(choices=GelType.choices, initial=GelType.NON_STERILE)

    field_aliases = {"probe": "serial"}


class OverrideForm(ServiceErrorsMixin, forms.Form):
    reason = forms.CharField(
        label="Reason to let the exam begin with this probe",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded on the override report with your name and role.",
    )


class ProbeStatusForm(ServiceErrorsMixin, forms.Form):
    status = forms.ChoiceField(choices=DeviceStatus.choices)
    reason = forms.CharField(max_length=100)


class LookbackForm(forms.Form):
    mrn = forms.CharField(label="Patient MRN", max_length=40, required=False)
    cycle = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("mrn") and not data.get("cycle"):
            raise forms.ValidationError("Give a patient's MRN, or open a cycle's look-back.")
        return data


class AgentForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=80, help_text="The product, e.g. Cidex OPA.")
    kind = forms.ChoiceField(choices=AgentKind.choices)
    manufacturer = forms.CharField(max_length=80, required=False)
    lot_number = forms.CharField(max_length=40)
    expires_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    opened_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    use_life_days = forms.IntegerField(min_value=1, max_value=365, required=False)
    min_exposure_minutes = forms.IntegerField(min_value=1, max_value=600, required=False)
    test_frequency = forms.ChoiceField(
        choices=CheckFrequency.choices, initial=CheckFrequency.NOT_REQUIRED
    )
    room = forms.ModelChoiceField(
        queryset=Room.objects.select_related("site").order_by("site__name", "name"),
        required=False,
    )


class DeviceForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=80)
    kind = forms.ChoiceField(choices=ReprocessorKind.choices)
    manufacturer = forms.CharField(max_length=80)
    model_name = forms.CharField(label="Model", max_length=80)
    serial_number = forms.CharField(max_length=64)
    room = forms.ModelChoiceField(
        queryset=Room.objects.select_related("site").order_by("site__name", "name"),
        required=False,
    )
    cycle_minutes = forms.IntegerField(min_value=1, max_value=600, initial=7)
    qc_frequency = forms.ChoiceField(choices=CheckFrequency.choices, initial=CheckFrequency.DAILY)
    qc_check = forms.CharField(label="Scheduled check", max_length=120, required=False)


class SolutionTestForm(ServiceErrorsMixin, forms.Form):
    result = forms.ChoiceField(choices=PassFail.choices, widget=forms.RadioSelect)
    strip_lot = forms.CharField(label="Test strip lot", max_length=40, required=False)
    note = forms.CharField(max_length=200, required=False)


class DeviceQcForm(ServiceErrorsMixin, forms.Form):
    check_name = forms.CharField(label="Check", max_length=120)
    result = forms.ChoiceField(choices=PassFail.choices, widget=forms.RadioSelect)
    note = forms.CharField(max_length=200, required=False)


class DiscardForm(forms.Form):
    reason = forms.CharField(max_length=200, required=False)
