"""Forms for department pages: list filters (GET) and the room status change (POST)."""

from __future__ import annotations

from typing import Any

from django import forms

from radflow.scheduling.models import (
    DeviceStatus,
    Modality,
    ProbeType,
    RoomCapability,
    RoomStatus,
    Site,
    SpauldingClass,
)


def _blank(label: str, choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", label), *choices]


class FilterForm(forms.Form):
    """A GET filter form; invalid values are dropped rather than shown as errors."""

    def filters(self) -> dict[str, Any]:
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value}


class RoomFilterForm(FilterForm):
    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"), required=False, empty_label="All sites"
    )
    modality = forms.ModelChoiceField(
        queryset=Modality.objects.order_by("code"), required=False, empty_label="All modalities"
    )
    status = forms.ChoiceField(choices=_blank("Any status", RoomStatus.choices), required=False)
    capability = forms.ModelChoiceField(
        queryset=RoomCapability.objects.order_by("name"),
        required=False,
        empty_label="Any capability",
    )


class DeviceFilterForm(FilterForm):
    q = forms.CharField(label="Serial or AE title", required=False, max_length=64)
    modality = forms.ModelChoiceField(
        queryset=Modality.objects.order_by("code"), required=False, empty_label="All modalities"
    )
    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"), required=False, empty_label="All sites"
    )
    status = forms.ChoiceField(choices=_blank("Any status", DeviceStatus.choices), required=False)


class ProbeFilterForm(FilterForm):
    probe_type = forms.ChoiceField(
        label="Type", choices=_blank("Any type", ProbeType.choices), required=False
    )
    spaulding_class = forms.ChoiceField(
        label="Spaulding class",
        choices=_blank("Any class", SpauldingClass.choices),
        required=False,
    )
    status = forms.ChoiceField(choices=_blank("Any status", DeviceStatus.choices), required=False)


class RoomStatusForm(forms.Form):
    status = forms.ChoiceField(choices=RoomStatus.choices)
    note = forms.CharField(
        max_length=200,
        required=False,
        help_text="Required when the room is down or in maintenance: what happened, until when.",
        widget=forms.TextInput(attrs={"size": 60}),
    )
