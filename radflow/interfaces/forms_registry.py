"""Forms of the DICOM AE registry pages; they parse input, the rules stay in ``services``."""

from __future__ import annotations

from typing import Any

from django import forms

from radflow.interfaces.models import ApplicationEntity, UnknownCallerPolicy
from radflow.scheduling.models import Device, Modality, Room
from radflow.web.forms import ServiceErrorsMixin


class _DeviceChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        title = f" — {obj.ae_title}" if obj.ae_title else ""
        room = f" in {obj.room.code}" if obj.room is not None else ""
        return f"{obj.manufacturer} {obj.model_name} ({obj.serial_number}){room}{title}"


class _RoomChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} {obj.name} ({obj.site.code})"


class ApplicationEntityForm(ServiceErrorsMixin, forms.Form):
    ae_title = forms.CharField(
        label="AE title",
        max_length=16,
        help_text="The calling AE title set on the modality's console (case matters).",
    )
    host = forms.CharField(
        label="Address",
        max_length=64,
        required=False,
        help_text="The IP address the modality calls from. Empty: any address.",
    )
    port = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=65535,
        help_text="The modality's own DICOM port, for reference (RadFlow never calls it).",
    )
    device = _DeviceChoice(
        queryset=Device.objects.select_related("room").order_by("ae_title", "serial_number"),
        required=False,
        empty_label="No device",
        help_text="Empty room, modality and station name are taken from the device.",
    )
    room = _RoomChoice(
        queryset=Room.objects.select_related("site").order_by("site__code", "code"),
        required=False,
        empty_label="From the device",
    )
    modality = forms.ModelChoiceField(
        queryset=Modality.objects.order_by("code"),
        required=False,
        empty_label="From the device or room",
    )
    station_name = forms.CharField(label="Station name", max_length=16, required=False)
    description = forms.CharField(max_length=120, required=False)
    restrict_to_room = forms.BooleanField(
        label="Worklist shows only its own room's exams", required=False
    )
    restrict_to_modality = forms.BooleanField(
        label="Worklist shows only its own modality's exams", required=False
    )
    may_send_mpps = forms.BooleanField(
        label="May report performed procedure steps (MPPS)", required=False, initial=True
    )
    active = forms.BooleanField(label="Active", required=False, initial=True)

    @classmethod
    def initial_for(cls, ae: ApplicationEntity) -> dict[str, Any]:
        return {
            "ae_title": ae.ae_title,
            "host": ae.host,
            "port": ae.port,
            "device": ae.device_id,
            "room": ae.room_id,
            "modality": ae.modality_id,
            "station_name": ae.station_name,
            "description": ae.description,
            "restrict_to_room": ae.restrict_to_room,
            "restrict_to_modality": ae.restrict_to_modality,
            "may_send_mpps": ae.may_send_mpps,
            "active": ae.active,
        }

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "ae_title": data["ae_title"],
            "host": data.get("host") or "",
            "port": data.get("port"),
            "device": data.get("device"),
            "room": data.get("room"),
            "modality": data.get("modality"),
            "station_name": data.get("station_name") or "",
            "description": data.get("description") or "",
            "restrict_to_room": bool(data.get("restrict_to_room")),
            "restrict_to_modality": bool(data.get("restrict_to_modality")),
            "may_send_mpps": bool(data.get("may_send_mpps")),
            "active": bool(data.get("active")),
        }


class DicomPolicyForm(ServiceErrorsMixin, forms.Form):
    unknown_caller = forms.ChoiceField(
        label="A modality whose AE title is not registered",
        choices=UnknownCallerPolicy.choices,
    )
