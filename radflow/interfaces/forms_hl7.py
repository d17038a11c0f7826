"""Forms of the HL7 console and settings pages; they parse input, the rules stay in services."""

from __future__ import annotations

from typing import Any

from django import forms

from radflow.core.errors import ValidationFailed
from radflow.core.hl7.fields import raw_from_edited
from radflow.interfaces.models import (
    Hl7Destination,
    Hl7Direction,
    Hl7Interface,
    Hl7Status,
)
from radflow.interfaces.selectors_hl7 import MessageFilters
from radflow.interfaces.services_hl7_setup import (
    DESTINATION_VERSIONS,
    RETENTION_MAX_DAYS,
    RETENTION_MIN_DAYS,
)
from radflow.scheduling.models import Site
from radflow.web.forms import ServiceErrorsMixin

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class MessageSearchForm(forms.Form):
    direction = forms.ChoiceField(
        choices=[("", "In and out"), *Hl7Direction.choices], required=False
    )
    since = forms.DateTimeField(label="From", required=False, widget=DATETIME_INPUT)
    until = forms.DateTimeField(label="Until", required=False, widget=DATETIME_INPUT)
    message_type = forms.CharField(
        label="Type", required=False, max_length=24, widget=forms.TextInput({"size": 9})
    )
    mrn = forms.CharField(label="MRN", required=False, max_length=64)
    accession = forms.CharField(label="Accession", required=False, max_length=32)
    control_id = forms.CharField(label="Control ID", required=False, max_length=64)
    status = forms.ChoiceField(choices=[("", "Any status"), *Hl7Status.choices], required=False)
    interface = forms.ModelChoiceField(
        queryset=Hl7Interface.objects.order_by("name"),
        required=False,
        empty_label="Any interface",
    )
    destination = forms.ModelChoiceField(
        queryset=Hl7Destination.objects.order_by("name"),
        required=False,
        empty_label="Any destination",
    )

    def filters(self) -> MessageFilters:
        """The valid filters that were given; a bad value is left out (and shown as an error)."""
        self.is_valid()
        data = self.cleaned_data
        return MessageFilters(
            direction=data.get("direction") or "",
            since=data.get("since"),
            until=data.get("until"),
            message_type=data.get("message_type") or "",
            mrn=data.get("mrn") or "",
            accession=data.get("accession") or "",
            control_id=data.get("control_id") or "",
            status=data.get("status") or "",
            interface=data.get("interface"),
            destination=data.get("destination"),
        )


class EditedMessageForm(ServiceErrorsMixin, forms.Form):
    """The message as text, one segment per line; sent back with CR between segments in the
    character set the original was read with (or the one an edited MSH-18 names)."""

    raw = forms.CharField(
        label="Message",
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 14, "cols": 100, "spellcheck": "false", "wrap": "off"}
        ),
        help_text="One segment per line. Field separators and escapes as in HL7.",
    )

    def __init__(self, *args: Any, codec: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.codec = codec

    def clean_raw(self) -> bytes:
        try:
            return raw_from_edited(self.cleaned_data["raw"], self.codec)
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.errors["raw"]) from exc


class Hl7InterfaceForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=80)
    sending_application = forms.CharField(
        label="Sending application (MSH-3)",
        max_length=180,
        required=False,
        help_text="The namespace ID the sender puts in MSH-3. Empty: any.",
    )
    sending_facility = forms.CharField(
        label="Sending facility (MSH-4)",
        max_length=180,
        required=False,
        help_text="The namespace ID in MSH-4. Empty: any.",
    )
    mrn_authority = forms.CharField(
        label="MRN assigning authority",
        max_length=40,
        required=False,
        help_text="The PID-3 assigning authority (CX.4) whose identifier is the MRN. "
        "Empty: the first PID-3 repeat.",
    )
    procedure_code_system = forms.CharField(
        label="Procedure code system",
        max_length=40,
        required=False,
        help_text="The coding system (CE.3) of OBR-4 whose codes are RadFlow exam codes "
        "or CPT codes, e.g. CPT.",
    )
    site = forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"),
        required=False,
        empty_label="No site",
        help_text="The site whose orders this sender places.",
    )
    active = forms.BooleanField(required=False, initial=True)

    @classmethod
    def initial_for(cls, interface: Hl7Interface) -> dict[str, Any]:
        return {
            "name": interface.name,
            "sending_application": interface.sending_application,
            "sending_facility": interface.sending_facility,
            "mrn_authority": interface.mrn_authority,
            "procedure_code_system": interface.procedure_code_system,
            "site": interface.site_id,
            "active": interface.active,
        }

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "sending_application": data.get("sending_application") or "",
            "sending_facility": data.get("sending_facility") or "",
            "mrn_authority": data.get("mrn_authority") or "",
            "procedure_code_system": data.get("procedure_code_system") or "",
            "site": data.get("site"),
            "active": bool(data.get("active")),
        }


class Hl7DestinationForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=80)
    host = forms.CharField(
        label="Address", max_length=255, help_text="IP address or host name of its MLLP listener."
    )
    port = forms.IntegerField(min_value=1, max_value=65535)
    receiving_application = forms.CharField(
        label="Receiving application (MSH-5)", max_length=180, required=False
    )
    receiving_facility = forms.CharField(
        label="Receiving facility (MSH-6)", max_length=180, required=False
    )
    version = forms.ChoiceField(
        label="HL7 version",
        choices=[(v, v) for v in DESTINATION_VERSIONS],
        initial="2.5.1",
        help_text="2.3.1: order status as ORM^O01; 2.5.1: as OMI^O23.",
    )
    sends_scheduling = forms.BooleanField(
        label="Receives scheduling messages (SIU)", required=False, initial=True
    )
    sends_status = forms.BooleanField(
        label="Receives order status messages (ORM/OMI)", required=False, initial=True
    )
    active = forms.BooleanField(required=False, initial=True)

    @classmethod
    def initial_for(cls, destination: Hl7Destination) -> dict[str, Any]:
        return {
            "name": destination.name,
            "host": destination.host,
            "port": destination.port,
            "receiving_application": destination.receiving_application,
            "receiving_facility": destination.receiving_facility,
            "version": destination.version,
            "sends_scheduling": destination.sends_scheduling,
            "sends_status": destination.sends_status,
            "active": destination.active,
        }

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "host": data["host"],
            "port": data["port"],
            "receiving_application": data.get("receiving_application") or "",
            "receiving_facility": data.get("receiving_facility") or "",
            "version": data["version"],
            "sends_scheduling": bool(data.get("sends_scheduling")),
            "sends_status": bool(data.get("sends_status")),
            "active": bool(data.get("active")),
        }


class RetentionForm(ServiceErrorsMixin, forms.Form):
    retention_days = forms.IntegerField(
        label="Keep messages for (days)",
        min_value=RETENTION_MIN_DAYS,
        max_value=RETENTION_MAX_DAYS,
        help_text="Older messages are deleted by the worker. Dead letters nobody has replayed "
        "and messages still waiting to be applied or sent are kept whatever their age.",
    )
