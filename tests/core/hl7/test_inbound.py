"""Inbound messages in RadFlow's terms: the golden messages' values, and each AE/AR reason."""

from __future__ import annotations

from datetime import date

import pytest

from radflow.core.hl7.inbound import (
    Coded,
    Identifier,
    MessageKind,
    OrderControl,
    Priority,
    ResultStatus,
    Rules,
    read,
)
from radflow.core.hl7.parse import AckCode, ErrorCode, Hl7Error, parse
from tests.core.hl7.messages import load, replace_segment

EPIC = Rules(mrn_authority="RGH", procedure_code_system="CPT")
TABLE, MISSING = ErrorCode.TABLE_VALUE_NOT_FOUND, ErrorCode.REQUIRED_FIELD_MISSING


def read_fixture(name: str, rules: Rules = EPIC):  # -> Inbound
    return read(parse(load(name)), rules)


def error_of(raw: bytes, rules: Rules = EPIC) -> Hl7Error:
    with pytest.raises(Hl7Error) as caught:
        read(parse(raw), rules)
    return caught.value


def test_the_mrn_is_the_pid_3_repetition_of_the_interfaces_authority() -> None:
    patient = read_fixture("orm_o01-nw-epic-v231.hl7").patient

    assert (patient.mrn, patient.mrn_authority) == ("00451234", "RGH")
    assert patient.identifiers == (
        Identifier("E1029384", "EPI", "PI"),
        Identifier("123-45-6789", "SSA", "SS"),
    )


def test_without_an_authority_setting_the_first_pid_3_repetition_is_the_mrn() -> None:
    patient = read_fixture("orm_o01-nw-epic-v231.hl7", Rules()).patient

    assert (patient.mrn, patient.mrn_authority) == ("E1029384", "EPI")


def test_adt_a04_reads_the_latin1_legal_name_and_demographics() -> None:
    inbound = read_fixture("adt_a04-epic-v231-latin1.hl7")
    patient = inbound.patient

    assert inbound.kind is MessageKind.PATIENT and inbound.event == "A04"
    assert (patient.family_name, patient.given_name, patient.middle_name) == (
        "MÜLLER",
        "JOSÉ",
        "ANDRÉS",
    )
    assert patient.prefix == "MR"
    assert (patient.birth_date, patient.sex, patient.language) == (date(1975, 11, 30), "M", "es")
    assert patient.address_line == "12 RUE DE L'ÉGLISE"
    assert (patient.city, patient.state, patient.postal_code) == ("WEST HARTFORD", "CT", "06107")
    assert (patient.phone, patient.email) == ("(860)555-0177", "jose.muller@example.org")
    assert inbound.visit is not None and inbound.visit.patient_class == "outpatient"


def test_adt_a01_reads_utf8_and_builds_the_phone_from_its_parts() -> None:
    inbound = read_fixture("adt_a01-epic-v251-utf8.hl7")

    assert (inbound.patient.family_name, inbound.patient.given_name) == ("ŁUKASIEWICZ", "ZOË")
    assert inbound.patient.phone == "(860) 555-0188"
    assert inbound.patient.language == "pl"
    assert inbound.visit is not None
    assert (inbound.visit.patient_class, inbound.visit.visit_number) == (
        "inpatient",
        "V20261202002",
    )


def test_an_adt_update_sends_only_what_it_carries() -> None:
    patient = read_fixture("adt_a08-epic-v231.hl7").patient

    sent = patient.sent()

    assert sent["address_line"] == "150 WASHINGTON STREET, UNIT 4"
    assert sent["phone"] == "(860)555-0160"
    assert "email" not in sent  # not sent: RadFlow keeps what it has


def test_two_double_quotes_clear_a_field() -> None:
    raw = replace_segment(
        load("adt_a08-epic-v231.hl7"),
        "PID",
        'PID|1||00451234^^^RGH^MR||HARTWELL^MARGARET^""||19680412|F|||""||""',
    )

    patient = read(parse(raw), EPIC).patient

    assert patient.middle_name == ""
    assert (patient.address_line, patient.city, patient.phone, patient.email) == ("", "", "", "")


def test_adt_a40_names_the_merged_patient_from_mrg_1() -> None:
    inbound = read_fixture("adt_a40-epic-v231.hl7")

    assert inbound.kind is MessageKind.MERGE
    assert inbound.merged == Identifier("00459999", "RGH", "MR")


def test_orm_new_order_maps_every_order_field() -> None:
    inbound = read_fixture("orm_o01-nw-epic-v231.hl7")
    (order,) = inbound.orders

    assert order.control is OrderControl.NEW
    assert order.placer_number == "EP100234"
    # OBR-4's first triplet is Epic's own code; the CPT one (C4) is the alternate.
    assert order.procedures == (Coded("76700", "US ABDOMEN COMPLETE", "C4"),)
    assert order.priority is Priority.STAT
    assert order.requested_date == date(2026, 12, 10)
    assert order.clinical_indication == "Right upper quadrant pain after fatty meals, 3 weeks"
    assert order.diagnosis_codes == ("R10.11", "K80.20")
    assert order.ordering_provider is not None
    assert order.ordering_provider.display == "DR AMELIA HART MD"
    assert order.ordering_provider.npi == "1457392810"
    assert order.ordering_phone == "(860)555-0100"
    assert order.ordering_location == "RIVERBEND INTERNAL MEDICINE"
    assert order.notes == (
        "Patient is diabetic; please schedule in the morning.\n"
        "Prior cholecystitis 2019, see outside report."
    )
    # ZDS-1: the Study Instance UID the placer assigned (IHE Rad TF-2 4.4), nothing else.
    assert order.imaging is not None
    assert order.imaging.study_instance_uid == "1.2.840.113619.2.62.994044785528.20261202130000"
    assert (order.imaging.accession_number, order.imaging.segment.segment) == ("", "ZDS")


def test_omg_reads_tq1_priority_the_lmp_and_dg1_codes() -> None:
    inbound = read_fixture("omg_o19-nw-epic-v251.hl7")
    (order,) = inbound.orders

    assert order.priority is Priority.URGENT
    assert order.lmp_date == date(2026, 11, 15)
    assert order.diagnosis_codes == ("M79.89", "I82.402")
    assert inbound.visit is not None and inbound.visit.patient_class == "emergency"


def test_omi_reads_the_imaging_procedure_control() -> None:
    (order,) = read_fixture("omi_o23-nw-epic-v251.hl7").orders

    assert order.imaging is not None
    assert order.imaging.accession_number == "E2612020001"
    assert order.imaging.study_instance_uid == "1.2.840.113619.2.55.3.2831164356.20261202.1"
    assert (order.imaging.sps_id, order.imaging.modality, order.imaging.station_ae) == (
        "E2612020001-1",
        "US",
        "US_MAIN_01",
    )
    assert order.procedures == (Coded("76536", "US SOFT TISSUE HEAD AND NECK", "C4"),)


def test_cancel_and_discontinue_carry_the_placers_reason() -> None:
    (cancel,) = read_fixture("orm_o01-ca-epic-v231.hl7").orders
    (stop,) = read_fixture("orm_o01-dc-epic-v231.hl7").orders

    assert cancel.control is OrderControl.CANCEL
    assert cancel.control_reason == Coded("duplicate_order", "Duplicate order", "RADFLOW")
    assert stop.control is OrderControl.DISCONTINUE
    assert stop.control_reason is not None and stop.control_reason.code == "CHG"


def test_oru_reads_the_report_text_status_and_interpreter() -> None:
    (prelim,) = read_fixture("oru_r01-prelim-pscribe-v231.hl7", Rules("RGH")).results
    (final,) = read_fixture("oru_r01-final-pscribe-v251.hl7", Rules("RGH")).results

    assert prelim.status is ResultStatus.PRELIMINARY
    assert prelim.accession_candidates == ("RF00007001",)
    assert prelim.text.splitlines()[:2] == [
        "EXAM: US ABDOMEN COMPLETE",
        "FINDINGS: The liver is normal in size and echotexture.",
    ]
    assert prelim.interpreter is not None
    assert (prelim.interpreter.id, prelim.interpreter.family) == ("R-4471", "VANCE")
    assert final.status is ResultStatus.FINAL
    assert final.text.splitlines()[1] == (
        "FINDINGS: Mild heterogeneous plaque at both carotid bulbs."
    )


@pytest.mark.parametrize(
    ("fixture", "old", "new", "code"),
    [
        ("adt_a08-epic-v231.hl7", b"ADT^A08", b"ADT^A03", ErrorCode.UNSUPPORTED_EVENT),
        ("adt_a08-epic-v231.hl7", b"ADT^A08", b"ADT^A99", ErrorCode.UNSUPPORTED_EVENT),
        ("adt_a08-epic-v231.hl7", b"ADT^A08", b"SIU^S12", ErrorCode.UNSUPPORTED_MESSAGE_TYPE),
    ],
)
def test_message_types_and_events_radflow_does_not_take_are_refused(
    fixture: str, old: bytes, new: bytes, code: ErrorCode
) -> None:
    error = error_of(load(fixture).replace(old, new, 1))

    assert (error.ack, error.code) == (AckCode.REJECT, code)
    assert str(error.location).startswith("MSH^1^9")


@pytest.mark.parametrize(
    ("pid", "code", "where"),
    [
        ("PID|1||00451234^^^RGH^MR||DOE^JANE||19801345|F", ErrorCode.DATA_TYPE, "PID^1^7"),
        ("PID|1||00451234^^^RGH^MR||DOE^JANE||1980-01-01|F", ErrorCode.DATA_TYPE, "PID^1^7"),
        (
            "PID|1||00451234^^^RGH^MR||DOE^JANE||19800101|Q",
            ErrorCode.TABLE_VALUE_NOT_FOUND,
            "PID^1^8",
        ),
        (
            "PID|1||00451234^^^EPI^PI||DOE^JANE||19800101|F",
            ErrorCode.REQUIRED_FIELD_MISSING,
            "PID^1^3",
        ),
        ("PID|1||||DOE^JANE||19800101|F", ErrorCode.REQUIRED_FIELD_MISSING, "PID^1^3"),
    ],
)
def test_patient_content_radflow_cannot_accept_is_an_error_at_its_field(
    pid: str, code: ErrorCode, where: str
) -> None:
    error = error_of(replace_segment(load("adt_a08-epic-v231.hl7"), "PID", pid))

    assert (error.ack, error.code, str(error.location)) == (AckCode.ERROR, code, where)


def test_an_order_without_pid_is_an_error() -> None:
    raw = load("orm_o01-sc-epic-v231.hl7")
    without = b"\r".join(line for line in raw.split(b"\r") if not line.startswith(b"PID"))

    error = error_of(without)

    assert (error.ack, error.code, str(error.location)) == (
        AckCode.ERROR,
        ErrorCode.SEGMENT_SEQUENCE,
        "PID^1",
    )


@pytest.mark.parametrize(
    ("orc", "code", "where"),
    [
        ("ORC|OC|EP100234^EPIC", ErrorCode.TABLE_VALUE_NOT_FOUND, "ORC^1^1"),
        ("ORC||EP100234^EPIC", ErrorCode.REQUIRED_FIELD_MISSING, "ORC^1^1"),
        ("ORC|NW|EP100234^EPIC||||||||||||||||||||", None, None),
        ("ORC|NW|EP100234^EPIC|||||1^ONCE^^^^Z", ErrorCode.TABLE_VALUE_NOT_FOUND, "ORC^1^7^1^6"),
        ("ORC|NW|EP100234^EPIC|||||1^ONCE^^2026-12-10", ErrorCode.DATA_TYPE, "ORC^1^7^1^4"),
    ],
)
def test_order_content_radflow_cannot_accept_is_an_error_at_its_field(
    orc: str, code: ErrorCode | None, where: str | None
) -> None:
    raw = replace_segment(load("orm_o01-nw-epic-v231.hl7"), "ORC", orc)
    # OBR-27 repeats ORC-7 in 2.3.1; drop it so ORC-7 is what is read.
    raw = raw.replace(b"|1^ONCE^^20261210^^S||||R10.11", b"|||||R10.11")
    if code is None:
        assert read(parse(raw), EPIC).orders[0].placer_number == "EP100234"
        return
    error = error_of(raw)

    assert (error.ack, error.code, str(error.location)) == (AckCode.ERROR, code, where)


def test_a_new_order_without_a_placer_number_is_an_error_at_orc_2() -> None:
    raw = replace_segment(load("orm_o01-nw-epic-v231.hl7"), "ORC", "ORC|NW|")
    raw = raw.replace(b"OBR|1|EP100234^EPIC|", b"OBR|1||")

    error = error_of(raw)

    assert (error.code, str(error.location)) == (ErrorCode.REQUIRED_FIELD_MISSING, "ORC^1^2")


def test_the_placer_number_may_come_from_obr_2() -> None:
    raw = replace_segment(load("orm_o01-nw-epic-v231.hl7"), "ORC", "ORC|NW|")

    assert read(parse(raw), EPIC).orders[0].placer_number == "EP100234"


def test_a_procedure_code_of_another_coding_system_is_an_error_at_obr_4() -> None:
    raw = load("orm_o01-nw-epic-v231.hl7").replace(b"^76700^US ABDOMEN COMPLETE^C4", b"")

    error = error_of(raw)

    assert (error.code, str(error.location)) == (ErrorCode.TABLE_VALUE_NOT_FOUND, "OBR^1^4")
    assert "EAP" in error.text


def test_an_invalid_diagnosis_code_is_an_error_at_its_field() -> None:
    raw = load("orm_o01-nw-epic-v231.hl7").replace(b"K80.20^Calculus", b"GALL^Calculus")

    error = error_of(raw)

    assert (error.code, str(error.location)) == (ErrorCode.DATA_TYPE, "OBR^1^31")


def test_an_imaging_accession_longer_than_dicom_allows_is_an_error_at_ipc_1() -> None:
    raw = load("omi_o23-nw-epic-v251.hl7").replace(b"IPC|E2612020001|", b"IPC|E26120200010000001|")

    error = error_of(raw)

    assert (error.code, str(error.location)) == (ErrorCode.DATA_TYPE, "IPC^1^1")


def test_a_result_without_status_or_text_is_an_error() -> None:
    raw = load("oru_r01-prelim-pscribe-v231.hl7")
    no_status = raw.replace(b"|US|P|", b"|US||")
    no_text = b"\r".join(line for line in raw.split(b"\r") if not line.startswith(b"OBX"))

    assert str(error_of(no_status, Rules("RGH")).location) == "OBR^1^25"
    assert error_of(no_text, Rules("RGH")).code is ErrorCode.REQUIRED_FIELD_MISSING


def test_a_merge_of_a_patient_into_itself_is_an_error() -> None:
    raw = replace_segment(load("adt_a40-epic-v231.hl7"), "MRG", "MRG|00451234^^^RGH^MR")

    error = error_of(raw)

    assert str(error.location) == "MRG^1^1"
