"""Demo step: every demo scanner and ultrasound system registered with the DICOM server.

Each device the equipment step gave an AE title (``US_MAIN_01`` ...) is registered under it,
in its room, from any address (the demo runs on one machine). CT, MR and the other scanners that
never leave their room see only their room's worklist; the ultrasound systems see everything
(a cart may be wheeled next door). Unknown callers get the worklist read-only, so
``findscu -W -aec RADFLOW 127.0.0.1 11112`` with dcmtk's default calling AE title answers with
today's booked exams.

The hospital's EHR is set up as an HL7 interface (``EPIC`` at ``RIVERBEND``, MRNs of the demo
patients' authority, CPT procedure codes, orders for the main hospital), so an ORM^O01 sent to
``radflow hl7`` with, e.g., ``mllp_send`` becomes an order on ``make run``.
"""

from __future__ import annotations

from radflow.demo.context import DemoContext
from radflow.interfaces.models import UnknownCallerPolicy
from radflow.interfaces.services import ae_create, policy_set
from radflow.interfaces.services_hl7_setup import hl7_interface_save
from radflow.patients.demo import MRN_AUTHORITY
from radflow.scheduling.models import Device, DeviceKind, DeviceStatus, Site

#: The demo EHR's MSH-3 / MSH-4.
EHR_APPLICATION = "EPIC"
EHR_FACILITY = "RIVERBEND"


def generate(ctx: DemoContext) -> None:
    devices = (
        Device.objects.exclude(ae_title="").select_related("room", "modality").order_by("ae_title")
    )
    registered = []
    for device in devices:
        in_a_room = device.room is not None
        registered.append(
            ae_create(
                ae_title=device.ae_title,
                device=device,
                restrict_to_room=in_a_room and device.kind == DeviceKind.SCANNER,
                active=device.status != DeviceStatus.RETIRED,
            )
        )
    policy_set(unknown_caller=UnknownCallerPolicy.READ_ONLY)
    ctx.objects["application_entities"] = registered
    ctx.objects["hl7_interfaces"] = [
        hl7_interface_save(
            name="EHR (Epic)",
            sending_application=EHR_APPLICATION,
            sending_facility=EHR_FACILITY,
            mrn_authority=MRN_AUTHORITY,
            procedure_code_system="CPT",
            site=Site.objects.filter(code="MAIN").first(),
        )
    ]
