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
from tests.scheduling.factories import (
    DepartmentFactory,
    DeviceFactory,
    ProbeFactory,
    RoomFactory,
)
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


def _contrast_objects(exam: Any, by: Any) -> dict[str, Any]:
    """An agent, a dose given in ``exam`` and a reaction to it (issue 10): the contrast pages."""
    from decimal import Decimal

    from django.utils import timezone

    from radflow.contrast.models import AdverseEvent, ContrastAdministration, ContrastAgent

    agent = ContrastAgent.objects.create(
        name="Iohexol 350", agent_class="iodinated", routes=["iv"], dose_unit="mL"
    )
    given = ContrastAdministration.objects.create(
        exam=exam,
        agent=agent,
        dose=Decimal(80),
        route="iv",
        injection_site="Right antecubital",
        given_at=timezone.now(),
        given_by=by,
    )
    event = AdverseEvent.objects.create(
        administration=given,
        onset_at=timezone.now(),
        grade="mild",
        symptoms=["urticaria"],
        treatment="Observation only.",
        outcome="resolved",
        recorded_at=timezone.now(),
        recorded_by=by,
    )
    return {"agent": agent, "administration": given, "event": event}


def _infection_objects(exam: Any) -> dict[str, Any]:
    """A probe used on ``exam``, a device, a disinfectant and a failed cycle (issue 10)."""
    import datetime

    from django.utils import timezone

    from radflow.infection.models import (
        DisinfectionAgent,
        ProbeUse,
        Reprocessing,
        ReprocessingDevice,
    )

    probe = ProbeFactory.create(probe_type="endocavitary", model_name="IC5-9-D")
    device = ReprocessingDevice.objects.create(
        name="Matrix trophon2",
        kind="hp_mist",
        manufacturer="Nanosonics",
        model_name="trophon2",
        serial_number="MATRIX-T2",
    )
    agent = DisinfectionAgent.objects.create(
        name="Cidex OPA", kind="opa", lot_number="MATRIX-1", expires_on=datetime.date(2031, 1, 1)
    )
    ProbeUse.objects.create(probe=probe, exam=exam, at=timezone.now())
    cycle = Reprocessing.objects.create(
        probe=probe,
        method="hld_automated",
        device=device,
        result="fail",
        indicator="pass",
        exposure_met=True,
        started_at=timezone.now(),
        ended_at=timezone.now(),
        level="none",
        problems="the cycle failed",
    )
    return {"probe": probe, "device": device, "agent": agent, "cycle": cycle}


def _quality_objects(exam: Any, owner: Any) -> dict[str, Any]:
    """The quality program (issue 9): an audit with its checklist, a peer review with a
    discrepancy follow-up, an incident with a CAPA line, a complaint, an accessibility request."""
    import datetime

    from django.utils import timezone

    from radflow.quality.models import (
        AccessibilityRequest,
        AuditChecklist,
        AuditChecklistItem,
        CorrectiveAction,
        DiscrepancyFollowUp,
        Feedback,
        ImageAudit,
        Incident,
        PeerReview,
    )
    from radflow.staff.models import JobRole

    exam_type = exam.order.exam_type
    checklist = AuditChecklist.objects.create(
        name="Matrix checklist", exam_type=exam_type, modality=exam_type.modality
    )
    item = AuditChecklistItem.objects.create(
        checklist=checklist, position=1, category="views", label="Required views"
    )
    now, today = timezone.now(), timezone.localdate()
    reader = StaffMemberFactory.create(job_role=JobRole.RADIOLOGIST)
    review = PeerReview.objects.create(
        exam=exam,
        reader=reader,
        reviewer=StaffMemberFactory.create(job_role=JobRole.RADIOLOGIST),
        month=today.replace(day=1),
        assigned_at=now,
        due_on=today,
        status="completed",
        score="3b",
        comment="Missed finding.",
        completed_at=now,
    )
    incident = Incident.objects.create(
        number="INC-2031-0001",
        kind="incident",
        category="fall",
        severity="minor",
        occurred_at=now,
        reported_at=now,
        description="Matrix incident.",
    )
    return {
        "audit": ImageAudit.objects.create(
            exam=exam, performer=StaffMemberFactory.create(), month=today, checklist=checklist
        ),
        "checklist": checklist,
        "item": item,
        "review": review,
        "follow_up": DiscrepancyFollowUp.objects.create(
            review=review, opened_at=now, due_on=today + datetime.timedelta(days=30)
        ),
        "incident": incident,
        "action": CorrectiveAction.objects.create(
            incident=incident, kind="corrective", description="Fix.", owner=owner, due_on=today
        ),
        "feedback": Feedback.objects.create(
            number="FB-2031-0001",
            kind="complaint",
            channel="phone",
            category="wait",
            received_on=today,
            summary="Matrix complaint.",
        ),
        "access": AccessibilityRequest.objects.create(
            patient=exam.order.patient,
            need="wheelchair",
            needed_on=today,
            requested_at=now,
        ),
    }


def _supplies_objects(room: Any, by: Any) -> dict[str, Any]:
    """A vendor, an item with a lot on a room's shelf, a draft PO and a count (issue 10)."""
    import datetime

    from radflow.supplies import purchasing, services
    from radflow.supplies.models import Item, LocationKind, StockLocation, Vendor

    vendor = Vendor.objects.create(name="Matrix Medical Supply")
    item = Item.objects.create(
        name="Matrix probe cover", category="probe_cover", unit="each", vendor=vendor,
        lot_tracked=True,
    )  # fmt: skip
    shelf = StockLocation.objects.create(
        name="Matrix shelf", code="MX-SHELF", kind=LocationKind.ROOM, site=room.site, room=room
    )
    services.stock_receive(
        item=item, location=shelf, quantity=10, by=None, lot_number="MX-1",
        expiry_date=datetime.date(2031, 1, 1),
    )  # fmt: skip
    po = purchasing.po_create(
        vendor=vendor, deliver_to=shelf, lines=[purchasing.LineInput(item=item, quantity=5)], by=by
    )
    count = services.cycle_count_record(
        location=shelf,
        by=None,
        lines=[services.CountInput(item=item, lot=item.lots.get(), counted=10)],
    )
    return {"vendor": vendor, "item": item, "shelf": shelf, "po": po, "count": count,
            "lot": item.lots.get()}  # fmt: skip


def _report_pack_objects() -> dict[str, Any]:
    """A monthly report pack with one built draft and its two (tiny) files (issue 9)."""
    import datetime

    from radflow.kpis.report_models import (
        FileKind,
        PackStatus,
        ReportPack,
        ReportPackFile,
        ReportPackVersion,
    )

    pack = ReportPack.objects.create(month=datetime.date(2031, 2, 1))
    version = ReportPackVersion.objects.create(pack=pack, number=1, status=PackStatus.DRAFT)
    for kind, content in ((FileKind.PDF, b"%PDF-1.4 matrix"), (FileKind.XLSX, b"PK matrix")):
        ReportPackFile.objects.create(
            version=version, kind=kind, content=content, size=len(content), sha256="0" * 64
        )
    return {"pack": pack, "version": version}


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
    infection = _infection_objects(order.exam)
    contrast = _contrast_objects(order.exam, owner)
    quality = _quality_objects(order.exam, owner)
    supplies = _supplies_objects(room, owner)
    report_pack = _report_pack_objects()
    by_prefix: dict[str, Any] = {
        "kpis:target_": DepartmentFactory.create(site=room.site),
        "kpis:report_pack_": report_pack["pack"],
        "kpis:report_version_": report_pack["version"],
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
        "contrast:agent_": contrast["agent"],
        "contrast:requirement_": exam_type,
        "contrast:reaction_": contrast["administration"],
        "contrast:event": contrast["event"],
        "contrast:exam": order.exam,
        "infection:probe": infection["probe"],
        "infection:exam_": order.exam,
        "infection:cycle": infection["cycle"],
        "infection:agent": infection["agent"],
        "infection:device": infection["device"],
        "quality:audit_": quality["audit"],
        "quality:checklist_item_edit": quality["item"],
        "quality:checklist_": quality["checklist"],
        "quality:peer_": quality["review"],
        "quality:follow_up_": quality["follow_up"],
        "quality:incident_": quality["incident"],
        "quality:action_add": quality["incident"],
        "quality:action_": quality["action"],
        "quality:feedback_": quality["feedback"],
        "quality:access_": quality["access"],
        "supplies:item_": supplies["item"],
        "supplies:location_": supplies["shelf"],
        "supplies:count_": supplies["count"],
        "supplies:template_": exam_type,
        "supplies:recall": supplies["lot"],
        "supplies:exam": order.exam,
        "supplies:vendor_": supplies["vendor"],
        "supplies:po_": supplies["po"],
        "supplies:reorder_": supplies["vendor"],
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
        "cycle_id": infection["cycle"],
        "administration_id": contrast["administration"],
        "item_id": supplies["item"],
        # FHIR (issue 7): a room is a Location, its modality a HealthcareService; a Slot read
        # of an id that is no slot answers 404 to those allowed.
        "location_id": room,
        "modality_code": room.modality,
        "slot_id": room,
    }
    return MatrixObjects(by_prefix, by_path_param)
