"""One real object of each kind, so the role matrix opens real detail pages, not 404s."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from radflow.accounts.models import ApiToken
from radflow.accounts.services import api_token_create, user_create
from radflow.core.roles import Role
from radflow.orders.models import CompletenessRule
from radflow.orders.services import attachment_add, authorization_request, payer_auth_rule_save
from tests.billing.factories import PayerFactory
from tests.catalog.factories import ExamTypeFactory, ProcedureCodeFactory
from tests.orders.factories import make_order
from tests.patients.factories import PatientFactory
from tests.scheduling.factories import DeviceFactory, ProbeFactory, RoomFactory
from tests.staff.factories import StaffMemberFactory


@dataclass
class MatrixObjects:
    by_prefix: dict[str, Any]
    by_path_param: dict[str, Any]

    def value_for(self, url_name: str, kwarg: str) -> Any:
        """The primary key a page of ``url_name`` expects in ``kwarg``."""
        for prefix, obj in self.by_prefix.items():
            if url_name.startswith(prefix):
                return obj.pk
        if kwarg in ("object_id", "pk"):
            return str(uuid.uuid4())
        if kwarg == "app_label":
            return "patients"
        return "1"

    def fill_api_path(self, path: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: str(self.by_path_param[m.group(1)].pk), path)


def _credential_objects(staff: Any) -> dict[str, Any]:
    """A verified credential with its evidence file, a competency sign-off and a plan."""
    import datetime

    from radflow.credentials.models import CompetencySignoff, CredentialType, CrossTrainingPlan
    from radflow.credentials.services import credential_add
    from tests.catalog.factories import CompetencyFactory

    kind = CredentialType.objects.create(
        code="matrix-rdms", name="ARDMS RDMS (AB)", issuer="ARDMS", kind="registry"
    )
    credential = credential_add(
        by=None,
        staff=staff,
        credential_type=kind,
        issued_on=datetime.date(2020, 1, 1),
        expires_on=datetime.date(2030, 1, 1),
        evidence=SimpleUploadedFile("card.pdf", b"%PDF-1.4 matrix", "application/pdf"),
    )
    competency = CompetencyFactory.create()
    signoff = CompetencySignoff.objects.create(
        staff=staff,
        competency=competency,
        signed_off_on=datetime.date(2025, 1, 1),
        observed_cases=10,
        valid_until=datetime.date(2025, 12, 31),
    )
    plan = CrossTrainingPlan.objects.create(
        staff=staff,
        target=competency,
        required_cases=10,
        started_on=datetime.date(2025, 1, 1),
        due_on=datetime.date(2025, 6, 1),
    )
    return {"credential": credential, "signoff": signoff, "plan": plan}


def _roster_objects(site: Any, staff: Any) -> dict[str, Any]:
    """A solved-looking roster with a run, a sick call and a swap between two people."""
    import datetime

    from radflow.rostering.models import (
        Roster,
        RosterRun,
        RosterStatus,
        ShiftKind,
        ShiftType,
        SickCall,
        SwapRequest,
    )

    shift_type = ShiftType.objects.create(
        site=site,
        code="matrix-day",
        name="Matrix day",
        kind=ShiftKind.DAY,
        start=datetime.time(7, 30),
        end=datetime.time(16, 0),
        paid_minutes=480,
    )
    roster = Roster.objects.create(
        start=datetime.date(2031, 3, 3), weeks=4, status=RosterStatus.PUBLISHED
    )
    run = RosterRun.objects.create(roster=roster)
    partner = StaffMemberFactory.create(home_site=site)
    day = roster.start + datetime.timedelta(days=2)
    return {
        "shift_type": shift_type,
        "roster": roster,
        "run": run,
        "sick": SickCall.objects.create(staff=staff, roster=roster, start=day, end=day, run=run),
        "swap": SwapRequest.objects.create(
            roster=roster, requester=staff, partner=partner, give_date=day
        ),
    }


def _plan_run(site: Any) -> Any:
    """A re-plan ready to review (no changes), so its page renders the review."""
    import datetime

    from radflow.planning.models import DayPlanRun, PlanStatus

    return DayPlanRun.objects.create(
        site=site,
        date=datetime.date(2031, 3, 5),
        trigger="Room US-3 down",
        status=PlanStatus.DONE,
        result={"changes": [], "unscheduled": {}, "objective": 0, "metrics": {}},
    )


def _calendar_objects(room: Any, device: Any, staff: Any) -> dict[str, Any]:
    """One row of each calendar kind (integer keys), for the remove and detail pages."""
    import datetime

    from django.utils import timezone

    from radflow.scheduling.models import (
        BookingTemplate,
        DeviceDowntime,
        Interpreter,
        InterpreterHours,
        RoomClosure,
        SiteClosure,
        StaffWorkingHours,
    )

    start = timezone.now() + datetime.timedelta(days=3)
    end = start + datetime.timedelta(hours=4)
    interpreter = Interpreter.objects.create(name="Matrix Interpreter", languages="es")
    nine, noon = datetime.time(9), datetime.time(12)
    return {
        "holiday": SiteClosure.objects.create(
            site=room.site, date=datetime.date(2031, 12, 25), reason="Christmas Day"
        ),
        "template": BookingTemplate.objects.create(
            room=room, weekday=0, starts=nine, ends=noon, label="OB mornings"
        ),
        "closure": RoomClosure.objects.create(room=room, start=start, end=end, reason="Works"),
        "downtime": DeviceDowntime.objects.create(
            device=device, start=start, end=end, reason="Planned maintenance"
        ),
        "hours": StaffWorkingHours.objects.create(staff=staff, weekday=0, starts=nine, ends=noon),
        "interpreter": interpreter,
        "interpreter_hours": InterpreterHours.objects.create(
            interpreter=interpreter, weekday=0, starts=nine, ends=noon
        ),
    }


def _application_entity(device: Any) -> Any:
    """The device registered as a DICOM modality (issue 6), for the AE edit pages."""
    from radflow.interfaces.services import ae_create

    return ae_create(ae_title=device.ae_title, device=device)


def _performed_step() -> Any:
    """An unmatched MPPS step (issue 6), for the reconciliation pages."""
    from django.utils import timezone

    from radflow.interfaces.models import PerformedProcedureStep

    return PerformedProcedureStep.objects.create(
        sop_instance_uid="2.25.1234",
        calling_ae="US_MATRIX",
        status="IN PROGRESS",
        started_at=timezone.now(),
    )


def _hl7_objects() -> dict[str, Any]:
    """A dead letter, an interface and a stopped destination (issue 7), for the HL7 pages."""
    from django.utils import timezone

    from radflow.interfaces.models import Hl7Destination, Hl7Interface, Hl7Message

    raw = (
        "MSH|^~\\&|EPIC|GENHOSP|RADFLOW|RAD|20260302091500||ADT^A08|MATRIX1|P|2.5.1\r"
        "PID|1||MRN-MATRIX^^^GENHOSP^MR||MATRIX^PAT\r"
    )
    return {
        "message": Hl7Message.objects.create(
            direction="in",
            status="rejected",
            control_id="MATRIX1",
            message_type="ADT^A08",
            raw=raw.encode(),
            patient_mrn="MRN-MATRIX",
            error="Unknown patient",
        ),
        "interface": Hl7Interface.objects.create(name="Matrix EHR", sending_application="EHR"),
        "destination": Hl7Destination.objects.create(
            name="Matrix PACS", host="127.0.0.1", port=2575, stopped_at=timezone.now()
        ),
    }


def matrix_objects() -> MatrixObjects:
    room = RoomFactory()
    device = DeviceFactory(room=room)
    ProbeFactory(device=device)
    patient = PatientFactory()
    exam_type = ExamTypeFactory.create()
    staff = StaffMemberFactory()
    PayerFactory()
    order = make_order(exam_type=exam_type)
    authorization = authorization_request(order=order, by=None)
    attachment = attachment_add(
        order=order,
        by=None,
        kind="requisition",
        upload=SimpleUploadedFile("requisition.pdf", b"%PDF-1.4 matrix", "application/pdf"),
    )
    completeness_rule = CompletenessRule.objects.create(requirement="clinical_indication")
    auth_rule = payer_auth_rule_save(
        by=None,
        payer=PayerFactory.create(),
        procedure_code=ProcedureCodeFactory.create(),
        auth_required=True,
        lead_time_days=3,
    )
    owner = user_create(username="token_owner", password="x" * 20, roles=[Role.DIRECTOR])
    token: ApiToken = api_token_create(user=owner, name="interface engine")[0]
    rostering = _roster_objects(room.site, staff)
    credentials = _credential_objects(staff)
    plan_run = _plan_run(room.site)
    calendar = _calendar_objects(room, device, staff)
    application_entity = _application_entity(device)
    hl7 = _hl7_objects()
    by_prefix: dict[str, Any] = {
        "credentials:credential_": credentials["credential"],
        "credentials:signoff_": credentials["signoff"],
        "credentials:plan_": credentials["plan"],
        "credentials:": staff,
        "rostering:roster_": rostering["roster"],
        "rostering:run_": rostering["run"],
        "rostering:sick_call": rostering["sick"],
        "rostering:shift_type": rostering["shift_type"],
        "rostering:person_": staff,
        "rostering:staff_rules": staff,
        "rostering:swap_": rostering["swap"],
        "patients:": patient,
        "planning:": plan_run,
        "scheduling:calendars_holiday_remove": calendar["holiday"],
        "scheduling:calendars_template_remove": calendar["template"],
        "scheduling:calendars_closure_remove": calendar["closure"],
        "scheduling:calendars_closure_add": room.site,
        "scheduling:calendars_closure": calendar["closure"],
        "scheduling:calendars_downtime_remove": calendar["downtime"],
        "scheduling:calendars_hours_remove": calendar["hours"],
        "scheduling:calendars_interpreter_hours_remove": calendar["interpreter_hours"],
        "scheduling:calendars_interpreter": calendar["interpreter"],
        "scheduling:calendars_room_hours": room,
        "scheduling:calendars_staff_hours": staff,
        "scheduling:calendars_": room.site,
        "scheduling:board_room": room,
        "scheduling:board_move": order.exam,
        "waitlist:": order,
        "interfaces:ae_": application_entity,
        "interfaces:mpps_": _performed_step(),
        "interfaces:hl7_message": hl7["message"],
        "interfaces:hl7_interface_": hl7["interface"],
        "interfaces:hl7_destination_": hl7["destination"],
        "scheduling:site": room.site,
        "scheduling:room": room,
        "scheduling:device": device,
        "catalog:exam_type": exam_type,
        "staff:": staff,
        "accounts:token": token,
        "orders:attachment": attachment,
        "orders:rule": completeness_rule,
        "orders:": order,
        "authorizations:request": order,
        "authorizations:rule": auth_rule,
        "authorizations:": authorization,
        "exams:": order.exam,
        "intake:": order.exam,
    }
    by_path_param: dict[str, Any] = {
        "patient_id": patient,
        "site_id": room.site,
        "room_id": room,
        "device_id": device,
        "exam_type_id": exam_type,
        "staff_id": staff,
        "order_id": order,
        "exam_id": order.exam,
        "authorization_id": authorization,
        "roster_id": rostering["roster"],
        "run_id": rostering["run"],
        "swap_id": rostering["swap"],
        "credential_id": credentials["credential"],
        # FHIR (issue 7): a room is a Location, its modality a HealthcareService; a Slot read
        # of an id that is no slot answers 404 to those allowed.
        "location_id": room,
        "modality_code": room.modality,
        "slot_id": room,
    }
    return MatrixObjects(by_prefix, by_path_param)
