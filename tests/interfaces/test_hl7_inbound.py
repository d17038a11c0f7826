"""HL7 v2 inbound at the service: each golden message's effect, AE/AR, duplicates, replays.

``hl7_receive`` is what the MLLP listener calls; these tests call it directly and read the ACK
as the sender would (``Ack``) and the records as a coordinator would.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.db import OperationalError

from radflow.catalog.models import ExamType
from radflow.core.errors import Conflict
from radflow.core.exam_states import ExamState
from radflow.core.hl7.inbound import MessageKind, OrderControl
from radflow.core.hl7.parse import peek
from radflow.exams.models import Exam, ExamTransition
from radflow.interfaces import hl7_inbound
from radflow.interfaces.hl7_inbound import hl7_receive, hl7_refuse, hl7_replay
from radflow.interfaces.models import DEAD_LETTER, Hl7Interface, Hl7Message, Hl7Status
from radflow.orders.models import Order
from radflow.patients.models import Patient, PatientIdentifier, PatientMerge
from tests.core.hl7.messages import load, names, replace_segment, with_control_id
from tests.interfaces.hl7_world import (
    AUTHORITY,
    DUPLICATE_MRN,
    MRN,
    Ack,
    Hl7World,
    exam_for,
)
from tests.scheduling.factories import SiteFactory

pytestmark = pytest.mark.django_db

PEER = "10.20.30.40:50123"


def receive(raw: bytes) -> Ack:
    return Ack.of(hl7_receive(raw=raw, peer=PEER))


def row_of(control_id: str) -> Hl7Message:
    return Hl7Message.objects.get(control_id=control_id, replay_of__isnull=True)


def order_of(placer: str) -> Order:
    return Order.objects.select_related("exam", "exam_type", "site", "patient").get(
        placer_order_number=placer
    )


def counts() -> tuple[int, int, int]:
    return Patient.objects.count(), Order.objects.count(), ExamTransition.objects.count()


# --- ADT ----------------------------------------------------------------------------------------


def test_adt_a04_registers_the_patient_with_the_latin1_name_and_identifiers(
    hl7_world: Hl7World,
) -> None:
    ack = receive(load("adt_a04-epic-v231-latin1.hl7"))

    assert (ack.code, ack.acknowledges, ack.version) == ("AA", "EPIC-ADT-0001", "2.3.1")
    patient = Patient.objects.get(mrn="00451900", mrn_authority=AUTHORITY)
    assert (patient.family_name, patient.given_name, patient.middle_name) == (
        "MÜLLER",
        "JOSÉ",
        "ANDRÉS",
    )
    assert (patient.birth_date, patient.sex, patient.language) == (date(1975, 11, 30), "M", "es")
    assert (patient.phone, patient.email) == ("(860)555-0177", "jose.muller@example.org")
    assert (patient.address_line, patient.city, patient.postal_code) == (
        "12 RUE DE L'ÉGLISE",
        "WEST HARTFORD",
        "06107",
    )
    identifiers = set(patient.identifiers.values_list("type", "authority", "value"))
    assert identifiers == {("PI", "EPI", "E1029500"), ("SS", "SSA", "987-65-4321")}
    row = row_of("EPIC-ADT-0001")
    assert (row.status, row.ack_code, row.patient, row.interface) == (
        Hl7Status.APPLIED,
        "AA",
        patient,
        hl7_world.epic,
    )
    assert (row.message_type, row.charset, row.patient_mrn) == ("ADT^A04", "8859/1", "00451900")
    assert row.changes[0] == {
        "what": "patient",
        "id": str(patient.pk),
        "action": "created",
        "label": "patient MRN 00451900 created",
    }
    assert bytes(row.ack or b"") == ack.raw


@pytest.mark.parametrize(
    ("fixture", "mrn", "family", "given"),
    [
        ("adt_a01-epic-v251-utf8.hl7", "00451901", "ŁUKASIEWICZ", "ZOË"),
        ("adt_a05-epic-v251.hl7", "00451902", "O'DONNELL", "PATRICK"),
    ],
)
def test_admissions_and_pre_admissions_register_new_patients(
    hl7_world: Hl7World, fixture: str, mrn: str, family: str, given: str
) -> None:
    assert receive(load(fixture)).code == "AA"

    patient = Patient.objects.get(mrn=mrn, mrn_authority=AUTHORITY)
    assert (patient.family_name, patient.given_name) == (family, given)


def test_adt_a08_changes_only_the_demographics_it_sends(hl7_world: Hl7World) -> None:
    ack = receive(load("adt_a08-epic-v231.hl7"))

    assert ack.code == "AA"
    patient = Patient.objects.get(pk=hl7_world.patient.pk)
    assert (patient.address_line, patient.postal_code, patient.phone) == (
        "150 WASHINGTON STREET, UNIT 4",
        "06106",
        "(860)555-0160",
    )
    assert patient.email == "m.hartwell@example.org"  # PID-13 sent no e-mail: kept
    assert row_of("EPIC-ADT-0004").changes[0]["label"] == (
        f"patient MRN {MRN} updated (address_line, phone, postal_code)"
    )


def test_adt_a08_for_a_patient_radflow_never_saw_registers_them(hl7_world: Hl7World) -> None:
    raw = load("adt_a08-epic-v231.hl7").replace(b"00451234^^^RGH", b"00457777^^^RGH")

    assert receive(raw).code == "AA"

    assert Patient.objects.filter(mrn="00457777", mrn_authority=AUTHORITY).exists()


def test_adt_a40_merges_the_duplicate_and_moves_its_orders(hl7_world: Hl7World) -> None:
    exam = exam_for(hl7_world, "EP900001", patient=hl7_world.duplicate)

    ack = receive(load("adt_a40-epic-v231.hl7"))

    assert ack.code == "AA"
    duplicate = Patient.objects.get(pk=hl7_world.duplicate.pk)
    assert (duplicate.active, duplicate.merged_into_id) == (False, hl7_world.patient.pk)
    assert Order.objects.get(pk=exam.order_id).patient_id == hl7_world.patient.pk
    merge = PatientMerge.objects.get()
    assert (merge.merged_mrn, merge.source, merge.surviving_id) == (
        DUPLICATE_MRN,
        "hl7",
        hl7_world.patient.pk,
    )
    actions = [c["action"] for c in row_of("EPIC-ADT-0005").changes]
    assert actions == ["identifier added", "merged", "moved"]


def test_adt_a40_sent_again_with_a_new_control_id_changes_nothing(hl7_world: Hl7World) -> None:
    receive(load("adt_a40-epic-v231.hl7"))

    ack = receive(with_control_id(load("adt_a40-epic-v231.hl7"), "EPIC-ADT-0006"))

    assert ack.code == "AA"
    assert PatientMerge.objects.count() == 1
    assert row_of("EPIC-ADT-0006").changes[0]["action"] == "unchanged"


def test_adt_a40_for_an_unknown_merged_patient_is_an_error_at_mrg_1(
    hl7_world: Hl7World,
) -> None:
    raw = load("adt_a40-epic-v231.hl7").replace(b"00459999^^^RGH", b"00450000^^^RGH")

    ack = receive(raw)

    assert (ack.code, ack.error_code, ack.error_location) == ("AE", "204", "MRG^1^1")
    assert PatientMerge.objects.count() == 0
    assert row_of("EPIC-ADT-0005").status == Hl7Status.REJECTED


# --- orders -------------------------------------------------------------------------------------


def test_orm_new_order_creates_the_order_and_its_exam(hl7_world: Hl7World) -> None:
    ack = receive(load("orm_o01-nw-epic-v231.hl7"))

    assert (ack.code, ack.acknowledges) == ("AA", "EPIC-ORM-1001")
    order = order_of("EP100234")
    assert order.patient == hl7_world.patient
    assert (order.exam_type.code, order.site, order.source) == (
        "us-abdomen-complete",
        hl7_world.site,
        "hl7",
    )
    assert (order.priority, order.patient_class) == ("stat", "outpatient")
    assert order.clinical_indication == "Right upper quadrant pain after fatty meals, 3 weeks"
    assert (order.ordering_provider, order.ordering_provider_npi) == (
        "DR AMELIA HART MD",
        "1457392810",
    )
    assert (order.ordering_phone, order.ordering_location) == (
        "(860)555-0100",
        "RIVERBEND INTERNAL MEDICINE",
    )
    assert order.requested_date == date(2026, 12, 10)
    assert order.signed_order
    assert order.notes.startswith("Patient is diabetic")
    assert list(order.diagnoses.values_list("code", flat=True)) == ["R10.11", "K80.20"]
    assert order.exam.state == ExamState.REQUESTED
    assert order.exam.accession_number.startswith("RF")
    # The placer assigned the Study Instance UID (ZDS-1): the images must carry it.
    assert order.exam.study_instance_uid == "1.2.840.113619.2.62.994044785528.20261202130000"
    row = row_of("EPIC-ORM-1001")
    assert (row.exam, row.patient, row.accession_number, row.placer_order_number) == (
        order.exam,
        hl7_world.patient,
        order.exam.accession_number,
        "EP100234",
    )
    assert row.changes[0]["label"].startswith(f"order {str(order.pk)[:8].upper()}… created")


def test_a_new_order_for_a_new_patient_registers_the_patient(hl7_world: Hl7World) -> None:
    raw = load("orm_o01-nw-epic-v231.hl7").replace(b"00451234^^^RGH", b"00458888^^^RGH")

    assert receive(raw).code == "AA"

    assert order_of("EP100234").patient.mrn == "00458888"
    actions = [c["action"] for c in row_of("EPIC-ORM-1001").changes]
    assert actions == ["created", "identifier added", "identifier added", "created"]


def test_xo_changes_the_fields_it_sends(hl7_world: Hl7World) -> None:
    receive(load("orm_o01-nw-epic-v231.hl7"))

    ack = receive(load("orm_o01-xo-epic-v231.hl7"))

    assert ack.code == "AA"
    order = order_of("EP100234")
    assert order.priority == "routine"
    assert order.clinical_indication == "RUQ pain resolved; evaluate for gallstones only"
    assert order.notes.startswith("Patient is diabetic")  # no NTE in the XO: kept
    assert (
        row_of("EPIC-ORM-1002")
        .changes[0]["label"]
        .endswith("updated (clinical_indication, priority)")
    )


def test_ca_cancels_the_exam_with_the_placers_reason(hl7_world: Hl7World) -> None:
    exam = exam_for(hl7_world, "EP100240", ExamState.AUTHORIZED)

    ack = receive(load("orm_o01-ca-epic-v231.hl7"))

    assert ack.code == "AA"
    exam.refresh_from_db()
    assert (exam.state, exam.reason_code) == (ExamState.CANCELLED, "duplicate_order")
    last = exam.transitions.order_by("-id").first()
    assert last is not None
    assert (last.actor, last.by) == ("hl7:EPIC", None)
    assert "ORC-1 CA from EPIC: Duplicate order" in last.reason
    assert row_of("EPIC-ORM-1003").changes[0]["label"] == (
        f"exam {exam.accession_number} cancelled"
    )


def test_dc_discontinues_an_exam_in_progress(hl7_world: Hl7World) -> None:
    exam = exam_for(hl7_world, "EP100241", ExamState.IN_PROGRESS)

    assert receive(load("orm_o01-dc-epic-v231.hl7")).code == "AA"

    exam.refresh_from_db()
    assert (exam.state, exam.reason_code) == (ExamState.DISCONTINUED, "hl7_placer_discontinued")


def test_dc_cancels_an_exam_not_yet_begun(hl7_world: Hl7World) -> None:
    exam = exam_for(hl7_world, "EP100241", ExamState.SCHEDULED)

    assert receive(load("orm_o01-dc-epic-v231.hl7")).code == "AA"

    exam.refresh_from_db()
    assert (exam.state, exam.reason_code) == (ExamState.CANCELLED, "referrer_withdrew")


def test_sc_is_recorded_without_a_change(hl7_world: Hl7World) -> None:
    receive(load("orm_o01-nw-epic-v231.hl7"))
    before = counts()

    assert receive(load("orm_o01-sc-epic-v231.hl7")).code == "AA"

    assert counts() == before
    assert row_of("EPIC-ORM-1005").changes[0]["action"] == "status noted"


def test_omg_new_order_takes_tq1_priority_the_visit_class_and_the_lmp(
    hl7_world: Hl7World,
) -> None:
    assert receive(load("omg_o19-nw-epic-v251.hl7")).code == "AA"

    order = order_of("EP200310")
    assert (order.exam_type.code, order.priority, order.patient_class) == (
        "us-venous-bilateral",
        "urgent",
        "emergency",
    )
    assert order.lmp_date == date(2026, 11, 15)
    assert list(order.diagnoses.values_list("code", flat=True)) == ["M79.89", "I82.402"]


def test_omi_new_order_keeps_the_senders_accession_and_study_uid(hl7_world: Hl7World) -> None:
    assert receive(load("omi_o23-nw-epic-v251.hl7")).code == "AA"

    exam = order_of("EP200311").exam
    assert (exam.accession_number, exam.study_instance_uid) == (
        "E2612020001",
        "1.2.840.113619.2.55.3.2831164356.20261202.1",
    )
    assert row_of("EPIC-OMI-3001").accession_number == "E2612020001"


def test_an_omi_accession_another_exam_has_is_an_error_at_ipc_1(hl7_world: Hl7World) -> None:
    exam_for(hl7_world, "EP000001", accession="E2612020001")

    ack = receive(load("omi_o23-nw-epic-v251.hl7"))

    assert (ack.code, ack.error_code, ack.error_location) == ("AE", "205", "IPC^1^1")
    assert not Order.objects.filter(placer_order_number="EP200311").exists()


def test_a_zds_study_uid_that_is_not_a_dicom_uid_is_an_error_at_zds_1(
    hl7_world: Hl7World,
) -> None:
    raw = load("orm_o01-nw-epic-v231.hl7").replace(
        b"ZDS|1.2.840.113619.2.62.994044785528.20261202130000", b"ZDS|1.2.840.abc"
    )

    ack = receive(raw)

    assert (ack.code, ack.error_code, ack.error_location) == ("AE", "102", "ZDS^1^1")
    assert "ZDS-1 Study Instance UID" in ack.text
    assert not Order.objects.filter(placer_order_number="EP100234").exists()


def test_a_cpt_code_of_several_exam_types_is_resolved_by_its_text(hl7_world: Hl7World) -> None:
    raw = load("orm_o01-nw-epic-v231.hl7").replace(
        b"76700^US ABDOMEN COMPLETE^C4", b"76775^US abdominal aorta (AAA screening)^C4"
    )

    assert receive(raw).code == "AA"

    assert order_of("EP100234").exam_type.code == "us-aorta-aaa"


# --- results ------------------------------------------------------------------------------------


def test_a_preliminary_report_reports_the_exam(hl7_world: Hl7World) -> None:
    exam = exam_for(hl7_world, "EP100250", ExamState.COMPLETED, accession="RF00007001")

    ack = receive(load("oru_r01-prelim-pscribe-v231.hl7"))

    assert ack.code == "AA"
    exam.refresh_from_db()
    assert exam.state == ExamState.REPORTED
    assert exam.report_text.startswith("EXAM: US ABDOMEN COMPLETE\nFINDINGS:")
    assert exam.radiologist == hl7_world.radiologist
    last = exam.transitions.order_by("-id").first()
    assert last is not None and last.actor == "hl7:PSCRIBE"


def test_a_final_report_reports_and_signs_the_exam(hl7_world: Hl7World) -> None:
    exam = exam_for(
        hl7_world,
        "EP100251",
        ExamState.COMPLETED,
        accession="RF00007002",
        exam_type="us-carotid-duplex",
    )

    assert receive(load("oru_r01-final-pscribe-v251.hl7")).code == "AA"

    exam.refresh_from_db()
    assert exam.state == ExamState.SIGNED
    assert "Peak systolic velocities" in exam.report_text
    assert [c["action"] for c in row_of("PS-ORU-4002").changes] == ["reported", "signed"]


def test_a_final_report_with_the_preliminary_text_signs_the_exam(hl7_world: Hl7World) -> None:
    exam = exam_for(hl7_world, "EP100250", ExamState.COMPLETED, accession="RF00007001")
    prelim = load("oru_r01-prelim-pscribe-v231.hl7")
    receive(prelim)

    final = with_control_id(prelim.replace(b"|US|P|", b"|US|F|"), "PS-ORU-4003")

    assert receive(final).code == "AA"
    exam.refresh_from_db()
    assert exam.state == ExamState.SIGNED


def test_a_report_for_an_exam_not_yet_completed_is_an_error(hl7_world: Hl7World) -> None:
    exam = exam_for(hl7_world, "EP100250", ExamState.SCHEDULED, accession="RF00007001")

    ack = receive(load("oru_r01-prelim-pscribe-v231.hl7"))

    assert (ack.code, ack.error_location) == ("AE", "OBR^1^25")
    assert "scheduled cannot be reported" in ack.text
    exam.refresh_from_db()
    assert exam.state == ExamState.SCHEDULED


# --- what RadFlow cannot accept -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "old", "new", "code", "where"),
    [
        # unknown exam code
        ("orm_o01-nw-epic-v231.hl7", b"76700^US ABDOMEN", b"99999^US ABDOMEN", "103", "OBR^1^4"),
        # an order update for a patient RadFlow does not know
        ("orm_o01-xo-epic-v231.hl7", b"00451234^^^RGH", b"00450000^^^RGH", "204", "PID^1^3"),
        # a cancel for an order RadFlow does not know
        ("orm_o01-ca-epic-v231.hl7", b"EP100240", b"EP999999", "204", "ORC^1^2"),
        # a birth date that is not a date
        ("adt_a04-epic-v231-latin1.hl7", b"19751130", b"19751131", "102", "PID^1^7"),
        # a required field missing (no name for a new patient)
        ("adt_a05-epic-v251.hl7", b"O'DONNELL^PATRICK^J^JR^^^L", b"", "101", "PID^1^5"),
        # an order control RadFlow does not act on
        ("orm_o01-nw-epic-v231.hl7", b"ORC|NW|", b"ORC|OC|", "103", "ORC^1^1"),
    ],
)
def test_content_radflow_cannot_accept_is_answered_ae_and_changes_nothing(
    hl7_world: Hl7World, fixture: str, old: bytes, new: bytes, code: str, where: str
) -> None:
    raw = load(fixture).replace(old, new)
    assert raw != load(fixture)
    before = counts()

    ack = receive(raw)

    assert (ack.code, ack.error_code, ack.error_location) == ("AE", code, where)
    assert ack.text
    assert counts() == before
    row = Hl7Message.objects.get()
    assert row.status == Hl7Status.REJECTED and row.status in DEAD_LETTER
    assert row.error == f"{where}: {ack.text}"
    assert row.changes == [] and row.applied_at is None


def test_cancelling_an_exam_in_progress_is_an_error_and_changes_nothing(
    hl7_world: Hl7World,
) -> None:
    exam = exam_for(hl7_world, "EP100240", ExamState.IN_PROGRESS)

    ack = receive(load("orm_o01-ca-epic-v231.hl7"))

    assert ack.code == "AE"
    assert "in progress cannot be cancelled" in ack.text
    exam.refresh_from_db()
    assert exam.state == ExamState.IN_PROGRESS
    assert row_of("EPIC-ORM-1003").patient == hl7_world.patient  # linked for the console


@pytest.mark.parametrize(
    ("old", "new", "code", "where"),
    [
        (b"|EPIC|RIVERBEND|", b"|CERNER|RIVERBEND|", "204", "MSH^1^3"),  # unknown sender
        # (2.3.1's ERR-1 names the field, not the component)
        (b"ADT^A08", b"ADT^A03", "201", "MSH^1^9"),  # unknown trigger
        (b"ADT^A08", b"SIU^S12", "200", "MSH^1^9"),  # unsupported type
        (b"|P|2.3.1|", b"|P|2.7|", "203", "MSH^1^12"),  # unsupported version
    ],
)
def test_messages_radflow_does_not_take_are_answered_ar_and_kept(
    hl7_world: Hl7World, old: bytes, new: bytes, code: str, where: str
) -> None:
    ack = receive(load("adt_a08-epic-v231.hl7").replace(old, new))

    assert (ack.code, ack.error_code, ack.error_location) == ("AR", code, where)
    row = Hl7Message.objects.get()
    assert (row.status, row.ack_code) == (Hl7Status.REFUSED, "AR")
    assert Patient.objects.get(pk=hl7_world.patient.pk).phone == "(860)555-0143"


def test_a_message_without_msh_is_refused_and_kept(hl7_world: Hl7World) -> None:
    raw = b"PID|1||00451234^^^RGH^MR||HARTWELL^MARGARET"

    ack = receive(raw)

    assert (ack.code, ack.acknowledges, ack.version) == ("AR", "", "2.5.1")
    row = Hl7Message.objects.get()
    assert (row.status, bytes(row.raw), row.control_id) == (Hl7Status.REFUSED, raw, "")


def test_a_frame_the_listener_could_not_take_is_kept_without_its_control_id(
    hl7_world: Hl7World,
) -> None:
    raw = load("orm_o01-nw-epic-v231.hl7")[:300]

    ack = Ack.of(hl7_refuse(raw=raw, peer=PEER, reason="Truncated MLLP frame"))

    assert (ack.code, ack.acknowledges) == ("AR", "EPIC-ORM-1001")
    row = Hl7Message.objects.get()
    assert (row.status, row.control_id) == (Hl7Status.REFUSED, "")
    assert row.error == "Truncated MLLP frame (MSH-10 EPIC-ORM-1001)"
    # The complete message sent afterwards is applied.
    assert receive(load("orm_o01-nw-epic-v231.hl7")).code == "AA"


def test_an_unexpected_failure_is_an_internal_error_kept_for_a_person(
    hl7_world: Hl7World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(hl7_inbound, "_new_order", broken)
    monkeypatch.setitem(hl7_inbound._ORDER_ACTIONS, OrderControl.NEW, broken)

    ack = receive(load("orm_o01-nw-epic-v231.hl7"))

    assert (ack.code, ack.error_code) == ("AE", "207")
    assert row_of("EPIC-ORM-1001").status == Hl7Status.REJECTED


# --- the same message again ---------------------------------------------------------------------


def test_the_same_message_again_gets_the_same_ack_and_changes_nothing(
    hl7_world: Hl7World,
) -> None:
    raw = load("orm_o01-nw-epic-v231.hl7")
    first = hl7_receive(raw=raw, peer=PEER)
    before = counts()

    again = hl7_receive(raw=raw, peer="10.20.30.41:40000")

    assert again == first
    assert counts() == before
    assert Hl7Message.objects.count() == 1


def test_a_rejected_message_sent_again_gets_the_same_ae(hl7_world: Hl7World) -> None:
    raw = load("orm_o01-nw-epic-v231.hl7").replace(b"76700^US", b"99999^US")

    assert hl7_receive(raw=raw, peer=PEER) == hl7_receive(raw=raw, peer=PEER)


def test_a_restamped_resend_is_the_same_message(hl7_world: Hl7World) -> None:
    raw = load("orm_o01-nw-epic-v231.hl7")
    first = hl7_receive(raw=raw, peer=PEER)

    again = hl7_receive(
        raw=raw.replace(b"|20261202130000||ORM", b"|20261202130500||ORM"), peer=PEER
    )

    assert again == first
    assert Order.objects.count() == 1


def test_a_message_stored_but_not_applied_is_applied_by_its_resend(hl7_world: Hl7World) -> None:
    raw = load("orm_o01-nw-epic-v231.hl7")
    # The process died between the two commits: the row is stored, nothing applied.
    stored = hl7_inbound._row_for(raw, peek(raw), PEER)
    stored.save(force_insert=True)

    ack = receive(raw)

    assert ack.code == "AA"
    assert Order.objects.filter(placer_order_number="EP100234").count() == 1
    stored.refresh_from_db()
    assert (stored.status, Hl7Message.objects.count()) == (Hl7Status.APPLIED, 1)


def test_a_control_id_reused_for_another_message_is_refused(hl7_world: Hl7World) -> None:
    receive(load("orm_o01-nw-epic-v231.hl7"))
    other = with_control_id(load("omg_o19-nw-epic-v251.hl7"), "EPIC-ORM-1001")

    ack = receive(other)

    assert (ack.code, ack.error_code, ack.error_location) == ("AR", "205", "MSH^1^10")
    assert not Order.objects.filter(placer_order_number="EP200310").exists()


def test_a_new_order_repeated_under_a_new_control_id_changes_nothing(
    hl7_world: Hl7World,
) -> None:
    receive(load("orm_o01-nw-epic-v231.hl7"))

    ack = receive(with_control_id(load("orm_o01-nw-epic-v231.hl7"), "EPIC-ORM-9001"))

    assert ack.code == "AA"
    assert Order.objects.count() == 1
    assert row_of("EPIC-ORM-9001").changes[0]["action"] == "unchanged"


def test_a_placer_number_reused_for_another_procedure_is_an_error(hl7_world: Hl7World) -> None:
    receive(load("orm_o01-nw-epic-v231.hl7"))
    raw = with_control_id(load("orm_o01-nw-epic-v231.hl7"), "EPIC-ORM-9002").replace(
        b"76700^US ABDOMEN COMPLETE^C4", b"76536^US NECK^C4"
    )

    ack = receive(raw)

    assert (ack.code, ack.error_code, ack.error_location) == ("AE", "205", "ORC^1^2")


def test_a_busy_database_is_tried_again_and_the_message_applied_once(
    hl7_world: Hl7World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = hl7_inbound._APPLY[MessageKind.ORDER]
    calls: list[int] = []

    def flaky(inbound: Any, ctx: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        real(inbound, ctx)

    monkeypatch.setitem(hl7_inbound._APPLY, MessageKind.ORDER, flaky)
    monkeypatch.setattr(hl7_inbound, "_pause", lambda attempt: None)

    assert receive(load("orm_o01-nw-epic-v231.hl7")).code == "AA"
    assert (len(calls), Order.objects.count()) == (2, 1)


def test_a_database_that_stays_down_answers_ar_and_the_resend_applies_it(
    hl7_world: Hl7World, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = hl7_inbound._APPLY[MessageKind.ORDER]

    def down(inbound: Any, ctx: Any) -> None:
        raise OperationalError("server closed the connection")

    monkeypatch.setitem(hl7_inbound._APPLY, MessageKind.ORDER, down)
    monkeypatch.setattr(hl7_inbound, "_pause", lambda attempt: None)
    raw = load("orm_o01-nw-epic-v231.hl7")

    ack = receive(raw)

    assert (ack.code, ack.error_code) == ("AR", "207")
    assert row_of("EPIC-ORM-1001").status == Hl7Status.RECEIVED
    monkeypatch.setitem(hl7_inbound._APPLY, MessageKind.ORDER, real)
    assert receive(raw).code == "AA"
    assert Order.objects.count() == 1


# --- replay -------------------------------------------------------------------------------------


def test_an_edited_replay_applies_the_fix_and_retires_the_original(
    hl7_world: Hl7World, coordinator: Any
) -> None:
    bad = load("orm_o01-nw-epic-v231.hl7").replace(b"76700^US", b"99999^US")
    receive(bad)
    original = row_of("EPIC-ORM-1001")

    replay = hl7_replay(message=original, raw=load("orm_o01-nw-epic-v231.hl7"), by=coordinator)

    assert (replay.status, replay.ack_code, replay.replay_of, replay.replayed_by) == (
        Hl7Status.APPLIED,
        "AA",
        original,
        coordinator,
    )
    assert replay.control_id == "EPIC-ORM-1001"
    original.refresh_from_db()
    assert original.status == Hl7Status.REPLAYED
    assert bytes(original.raw) == bad
    order = order_of("EP100234")
    assert order.exam_type.code == "us-abdomen-complete"
    # The sender's re-send of the original now gets the replay's ACK.
    assert receive(bad).code == "AA"
    assert Order.objects.count() == 1


def test_a_replay_after_the_interface_is_added_applies_the_message_as_received(
    hl7_world: Hl7World, coordinator: Any
) -> None:
    raw = load("adt_a05-epic-v251.hl7").replace(b"|EPIC|", b"|MEDITECH|")
    assert receive(raw).code == "AR"
    hl7_world.epic.sending_application = ""
    hl7_world.epic.save()

    replay = hl7_replay(message=row_of("EPIC-ADT-0003"), raw=None, by=coordinator)

    assert replay.status == Hl7Status.APPLIED
    assert Patient.objects.filter(mrn="00451902").exists()


def test_a_failed_replay_leaves_the_original_on_the_dead_letter_list(
    hl7_world: Hl7World, coordinator: Any
) -> None:
    bad = load("orm_o01-nw-epic-v231.hl7").replace(b"76700^US", b"99999^US")
    receive(bad)

    replay = hl7_replay(message=row_of("EPIC-ORM-1001"), raw=None, by=coordinator)

    assert replay.status == Hl7Status.REJECTED
    assert row_of("EPIC-ORM-1001").status == Hl7Status.REJECTED


def test_an_applied_message_is_not_replayed(hl7_world: Hl7World, coordinator: Any) -> None:
    receive(load("orm_o01-nw-epic-v231.hl7"))

    with pytest.raises(Conflict):
        hl7_replay(message=row_of("EPIC-ORM-1001"), raw=None, by=coordinator)


# --- what is kept -------------------------------------------------------------------------------


def test_no_message_leaves_a_patient_name_in_what_it_changed(hl7_world: Hl7World) -> None:
    exam_for(hl7_world, "EP100240")
    exam_for(hl7_world, "EP100241", ExamState.IN_PROGRESS)
    exam_for(hl7_world, "EP100250", ExamState.COMPLETED, accession="RF00007001")
    exam_for(hl7_world, "EP900001", patient=hl7_world.duplicate)

    acks = {name: receive(load(name)).code for name in names() if "final" not in name}

    assert set(acks.values()) == {"AA"}, acks
    changes = json.dumps([row.changes for row in Hl7Message.objects.all()], ensure_ascii=False)
    for name in ("HARTWELL", "MARGARET", "MÜLLER", "ŁUKASIEWICZ", "O'DONNELL"):
        assert name not in changes


def test_identifiers_already_recorded_for_another_patient_are_left_alone(
    hl7_world: Hl7World,
) -> None:
    PatientIdentifier.objects.create(
        patient=hl7_world.duplicate, value="987-65-4321", authority="SSA", type="SS"
    )

    assert receive(load("adt_a04-epic-v231-latin1.hl7")).code == "AA"

    created = Patient.objects.get(mrn="00451900")
    assert list(created.identifiers.values_list("type", flat=True)) == ["PI"]


def test_a_pid_replaced_by_an_unknown_authority_only_is_an_error(hl7_world: Hl7World) -> None:
    raw = replace_segment(
        load("adt_a08-epic-v231.hl7"), "PID", "PID|1||E1029384^^^EPI^PI||HARTWELL^MARGARET"
    )

    ack = receive(raw)

    assert (ack.code, ack.error_code, ack.error_location) == ("AE", "101", "PID^1^3")


def test_exams_are_untouched_by_an_adt(hl7_world: Hl7World) -> None:
    exam = exam_for(hl7_world, "EP100240")

    receive(load("adt_a08-epic-v231.hl7"))

    assert Exam.objects.get(pk=exam.pk).state == ExamState.REQUESTED


# --- settings changed between messages (the listener caches them) ------------------------------


def another_order(control_id: str, placer: bytes) -> bytes:
    """The golden new order under another control ID, placer number and study UID."""
    raw = with_control_id(load("orm_o01-nw-epic-v231.hl7"), control_id)
    return raw.replace(b"EP100234", placer).replace(
        b".20261202130000^EPIC", b"." + placer[2:] + b"^EPIC"
    )


def test_an_exam_type_withdrawn_between_two_orders_is_not_ordered_again(
    hl7_world: Hl7World,
) -> None:
    assert receive(load("orm_o01-nw-epic-v231.hl7")).code == "AA"
    ExamType.objects.filter(code="us-abdomen-complete").update(active=False)

    ack = receive(another_order("EPIC-ORM-7001", b"EP700001"))

    assert (ack.code, ack.error_code, ack.error_location) == ("AE", "103", "OBR^1^4")
    assert Order.objects.count() == 1


def test_an_interface_switched_off_between_two_messages_refuses_the_second(
    hl7_world: Hl7World,
) -> None:
    assert receive(load("orm_o01-nw-epic-v231.hl7")).code == "AA"
    Hl7Interface.objects.filter(pk=hl7_world.epic.pk).update(active=False)

    ack = receive(another_order("EPIC-ORM-7002", b"EP700002"))

    assert (ack.code, ack.error_code, ack.error_location) == ("AR", "204", "MSH^1^3")
    assert Order.objects.count() == 1


def test_orders_follow_the_interfaces_new_site_from_the_next_message(hl7_world: Hl7World) -> None:
    assert receive(load("orm_o01-nw-epic-v231.hl7")).code == "AA"
    north = SiteFactory.create(code="NORTH", name="Riverbend North")
    Hl7Interface.objects.filter(pk=hl7_world.epic.pk).update(site=north)

    assert receive(another_order("EPIC-ORM-7003", b"EP700003")).code == "AA"

    assert (order_of("EP100234").site, order_of("EP700003").site) == (hl7_world.site, north)
