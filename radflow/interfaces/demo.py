"""Demo step: every demo scanner and ultrasound system registered with the DICOM server.

Each device the equipment step gave an AE title (``US_MAIN_01`` ...) is registered under it,
in its room, from any address (the demo runs on one machine). CT, MR and the other scanners that
never leave their room see only their room's worklist; the ultrasound systems see everything
(a cart may be wheeled next door). Unknown callers get the worklist read-only, so
``findscu -W -aec RADFLOW 127.0.0.1 11112`` with dcmtk's default calling AE title answers with
today's booked exams.
"""

from __future__ import annotations

from radflow.demo.context import DemoContext
from radflow.interfaces.models import UnknownCallerPolicy
from radflow.interfaces.services import ae_create, policy_set
from radflow.scheduling.models import Device, DeviceKind, DeviceStatus


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
