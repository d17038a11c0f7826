"""HL7 message rows as the inbound and outbound parts store them, for the console's tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from radflow.interfaces.models import (
    Hl7Destination,
    Hl7Direction,
    Hl7Interface,
    Hl7Message,
    Hl7Status,
)

ADT_A08 = (
    "MSH|^~\\&|EPIC|GENHOSP|RADFLOW|RAD|20260302091500||ADT^A08^ADT_A01|{control}|P|2.5.1\r"
    "EVN|A08|20260302091500\r"
    "PID|1||{mrn}^^^GENHOSP^MR||OKONKWO^ADAEZE^CHIOMA||19870423|F|||"
    "48 Beacon Street^^Boston^MA^02108\r"
    "PV1|1|O|US^^^GENHOSP\r"
)
ORM_O01 = (
    "MSH|^~\\&|EPIC|GENHOSP|RADFLOW|RAD|20260302091700||ORM^O01|{control}|P|2.3.1\r"
    "PID|1||{mrn}^^^GENHOSP^MR||OKONKWO^ADAEZE||19870423|F\r"
    "ORC|NW|PL{control}||||||1^once^^^^R\r"
    "OBR|1|PL{control}||76700^US ABDOMEN COMPLETE^CPT|||||||||RUQ pain\r"
)
SIU_S12 = (
    "MSH|^~\\&|RADFLOW|RAD|PACS|GENHOSP|20260302100000||SIU^S12^SIU_S12|{control}|P|2.5.1"
    "||||||UNICODE UTF-8\r"
    "SCH|{accession}|{accession}|||||||30|min\r"
    "PID|1||{mrn}^^^RADFLOW^MR||OKONKWO^ADAEZE||19870423|F\r"
)
ACK_AE = (
    "MSH|^~\\&|RADFLOW|RAD|EPIC|GENHOSP|20260302091501||ACK^A08^ACK|A{control}|P|2.5.1\r"
    "MSA|AE|{control}|Unknown patient\r"
    "ERR||PID^1^3|204^Unknown key identifier^HL70357|E\r"
)


def interface(name: str = "Epic ADT", **fields: Any) -> Hl7Interface:
    values = {"sending_application": "EPIC", "sending_facility": "GENHOSP", **fields}
    return Hl7Interface.objects.create(name=name, **values)


def destination(name: str = "PACS", **fields: Any) -> Hl7Destination:
    values = {"host": "10.20.0.40", "port": 2575, "receiving_application": "PACS", **fields}
    return Hl7Destination.objects.create(name=name, **values)


def message(
    *,
    template: str = ADT_A08,
    control: str = "MSG00001",
    mrn: str = "MRN004417",
    accession: str = "",
    direction: str = Hl7Direction.IN,
    status: str = Hl7Status.APPLIED,
    at: datetime | None = None,
    ack: str | None = None,
    **fields: Any,
) -> Hl7Message:
    """A stored message whose search keys agree with its bytes; ``at`` backdates it."""
    raw = template.format(control=control, mrn=mrn, accession=accession)
    header = [*raw.split("\r", 1)[0].split("|"), *[""] * 20]
    values: dict[str, Any] = {
        "direction": direction,
        "status": status,
        "sending_application": header[2],
        "sending_facility": header[3],
        "receiving_application": header[4],
        "receiving_facility": header[5],
        "control_id": control,
        "message_type": "^".join(header[8].split("^")[:2]),
        "version": header[11],
        "charset": header[17],
        "raw": raw.encode(),
        "patient_mrn": mrn,
        "accession_number": accession,
        "received_at": timezone.now() if direction == Hl7Direction.IN else None,
        **fields,
    }
    if ack is not None:
        values["ack"] = ack.format(control=control).encode()
        values["ack_code"] = ack.split("MSA|", 1)[1][:2]
    row = Hl7Message.objects.create(**values)
    if at is not None:
        Hl7Message.objects.filter(pk=row.pk).update(created_at=at)
        row.refresh_from_db()
    return row
