"""The Modality Worklist over real TCP with pynetdicom as the modality: matching, character
sets, every requested key, cancel, refusals, and what the server leaves behind."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections
from django.db.backends.signals import connection_created
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    ModalityWorklistInformationFind,
    Verification,
)

from radflow.audit.models import AccessLog
from radflow.interfaces.models import ApplicationEntity, UnknownCallerPolicy
from radflow.interfaces.services import policy_set
from tests.core.dicom.worklist_entries import identifier, modality_query, put, step
from tests.interfaces.mwl_world import World, build_world, bulk_steps, slow_answers

pytestmark = pytest.mark.django_db(transaction=True)

PENDING, SUCCESS, CANCEL = 0xFF00, 0x0000, 0xFE00
A900, C000 = 0xA900, 0xC000


@pytest.fixture
def world(dicom_port: int, reference: None, admin_user: User) -> World:
    built = build_world(admin_user)
    policy_set(unknown_caller=UnknownCallerPolicy.READ_ONLY)
    return built


def associate(port: int, calling_ae: str = "MODALITY", syntax: str | None = None) -> Association:
    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(ModalityWorklistInformationFind, syntax or ImplicitVRLittleEndian)
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port, ae_title="RADFLOW")
    assert assoc.is_established
    return assoc


@pytest.fixture
def modality(world: World, dicom_port: int) -> Iterator[Association]:
    assoc = associate(dicom_port)
    yield assoc
    if assoc.is_established:
        assoc.release()


def find(assoc: Association, ds: Dataset) -> tuple[list[Dataset], int]:
    answers: list[Dataset] = []
    final = -1
    for status, answer in assoc.send_c_find(ds, ModalityWorklistInformationFind):
        assert status is not None, "no answer"
        if status.Status == PENDING:
            assert answer is not None
            answers.append(answer)
        else:
            final = int(status.Status)
    return answers, final


def steps(world: World, answers: list[Dataset]) -> set[str]:
    by_accession = {exam.accession_number: key for key, exam in world.exams.items()}
    return {by_accession[str(answer.AccessionNumber)] for answer in answers}


def day(world: World, days: int = 0) -> str:
    return (world.day + dt.timedelta(days=days)).strftime("%Y%m%d")


def with_keys(ds: Dataset, **keys: Any) -> Dataset:
    for keyword, value in keys.items():
        put(ds, keyword, value)
    return ds


def test_each_matching_rule_over_the_network(world: World, modality: Association) -> None:
    today = day(world)
    cases = [
        # single value, universal (zero length) and wild cards
        (
            modality_query(
                ScheduledStationAETitle="US_ROOM_A", ScheduledProcedureStepStartDate=today
            ),
            {"mueller", "papadopoulou", "smith"},
        ),
        (
            modality_query(
                ScheduledStationAETitle="US_ROOM_?", ScheduledProcedureStepStartDate=today
            ),
            {"mueller", "papadopoulou", "smith", "yamada", "ivanova"},
        ),
        (with_keys(modality_query(), PatientName="smith*"), {"smith", "smithers"}),
        (with_keys(modality_query(), PatientName="SMITH^ANNA"), {"smith"}),
        (
            with_keys(modality_query(), AccessionNumber=world.exams["yamada"].accession_number),
            {"yamada"},
        ),
        (with_keys(modality_query(), PatientID="MRN-IVANOVA"), {"ivanova"}),
        (
            with_keys(
                modality_query(),
                StudyInstanceUID=[
                    world.exams["yamada"].study_instance_uid,
                    world.exams["mueller"].study_instance_uid,
                ],
            ),
            {"yamada", "mueller"},
        ),
        (modality_query(ScheduledProcedureStepID=world.exams["smith"].accession_number), {"smith"}),
        # ranges: a day, from a date, up to a date, a week, combined date and time
        (modality_query(ScheduledProcedureStepStartDate=f"{day(world, 1)}-"), {"tomorrow"}),
        (
            modality_query(ScheduledProcedureStepStartDate=f"-{today}"),
            {"mueller", "papadopoulou", "yamada", "ivanova", "smith", "smithers"},
        ),
        (
            modality_query(ScheduledProcedureStepStartDate=f"{day(world, -3)}-{day(world, 3)}"),
            {"mueller", "papadopoulou", "yamada", "ivanova", "smith", "smithers", "tomorrow"},
        ),
        (
            modality_query(
                ScheduledProcedureStepStartDate=f"{today}-{day(world, 1)}",
                ScheduledProcedureStepStartTime="1600-0900",
            ),
            {"smith", "tomorrow"},
        ),
        (modality_query(ScheduledProcedureStepStartTime="0930-1000"), {"papadopoulou", "yamada"}),
        # sequence matching inside the step, and the step's status
        (modality_query(Modality="CT"), {"smithers"}),
        (with_keys(modality_query(Modality="US"), PatientName="*ANNA"), {"smith"}),
        (identifier(step(ScheduledProcedureStepStatus="ARRIVED"), AccessionNumber=""), {"smith"}),
        (
            with_keys(
                identifier(AccessionNumber=""),
                RequestedProcedureCodeSequence=[step(CodeValue="70450")],
            ),
            {"smithers"},
        ),
    ]
    for ds, expected in cases:
        answers, final = find(modality, ds)
        assert final == SUCCESS
        assert steps(world, answers) == expected, ds


@pytest.mark.parametrize(
    "syntax",
    [ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian],
    ids=["implicit", "explicit", "big-endian"],
)
def test_names_in_every_script_come_through(world: World, dicom_port: int, syntax: str) -> None:
    assoc = associate(dicom_port, syntax=syntax)
    try:
        for charset, key, name, answered in (
            ("ISO_IR 192", "山田*", "山田^太郎", "ISO_IR 192"),
            ("ISO_IR 192", "παπαδοπούλου^ελένη", "Παπαδοπούλου^Ελένη", "ISO_IR 192"),
            ("ISO_IR 192", "ИВАНОВА*", "Иванова^Анна", "ISO_IR 192"),
            ("ISO_IR 100", "MÜLLER*", "Müller^Jürgen", "ISO_IR 100"),
            ("ISO_IR 100", "smith^anna", "Smith^Anna", "ISO_IR 100"),
            ("ISO_IR 144", "ИВАНОВА*", "Иванова^Анна", "ISO_IR 144"),
        ):
            ds = with_keys(modality_query(), SpecificCharacterSet=charset, PatientName=key)
            answers, final = find(assoc, ds)
            assert final == SUCCESS
            assert [str(a.PatientName) for a in answers] == [name], (charset, key)
            assert answers[0].SpecificCharacterSet == answered
        # A Latin-1 modality asking for everything gets the other scripts in UTF-8.
        answers, _ = find(assoc, modality_query(ScheduledProcedureStepStartDate=day(world)))
        charsets = {str(a.PatientName): a.SpecificCharacterSet for a in answers}
        assert charsets["Müller^Jürgen"] == "ISO_IR 100"
        assert charsets["山田^太郎"] == charsets["Иванова^Анна"] == "ISO_IR 192"
        assert charsets["Smith^Anna"] == "ISO_IR 100"
    finally:
        assoc.release()


def test_every_requested_key_comes_back_and_type_1_keys_are_filled(
    world: World, modality: Association
) -> None:
    ds = with_keys(
        modality_query(),
        Allergies="",
        PregnancyStatus=None,
        AdmissionID="",
        MedicalAlerts="",
        RequestedProcedurePriority="",
        RequestedProcedureCodeSequence=[],
        ReferencedStudySequence=[],
    )
    answers, final = find(modality, ds)
    assert final == SUCCESS and len(answers) == 7
    requested = [e.keyword for e in ds]
    requested_item = [e.keyword for e in ds.ScheduledProcedureStepSequence[0]]
    for answer in answers:
        assert [e.keyword for e in answer] == requested
        item = answer.ScheduledProcedureStepSequence[0]
        assert [e.keyword for e in item] == requested_item
        for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "RequestedProcedureID"):
            assert str(answer[keyword].value), keyword
        for keyword in (
            "ScheduledStationAETitle",
            "ScheduledProcedureStepStartDate",
            "ScheduledProcedureStepStartTime",
            "Modality",
            "ScheduledProcedureStepID",
            "ScheduledProcedureStepDescription",
        ):
            assert str(item[keyword].value), keyword
        assert answer.AdmissionID == ""
    smith = next(a for a in answers if a.PatientID == "MRN-SMITH")
    assert (smith.Allergies, smith.PregnancyStatus) == ("Latex, Penicillin", 2)
    assert smith.RequestedProcedureCodeSequence[0].CodeValue == "76856"
    mueller = next(a for a in answers if a.PatientID == "MRN-MUELLER")
    assert mueller.RequestedProcedurePriority == "STAT"
    assert (
        mueller.ScheduledProcedureStepSequence[0].ScheduledPerformingPhysicianName == "Lopez^Maria"
    )
    assert mueller.ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime == "080000"


def test_a_restricted_station_sees_only_its_own_room(world: World, dicom_port: int) -> None:
    ApplicationEntity.objects.filter(ae_title="CT_1").update(restrict_to_room=True)
    assoc = associate(dicom_port, calling_ae="CT_1")
    try:
        answers, final = find(assoc, modality_query())
    finally:
        assoc.release()
    assert final == SUCCESS
    assert steps(world, answers) == {"smithers"}


def test_cancel_stops_the_answers(
    world: World, dicom_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk_steps(world, 400)
    slow_answers(monkeypatch)
    assoc = associate(dicom_port)
    try:
        context_id = assoc.accepted_contexts[0].context_id
        received, final = 0, -1
        query = modality_query(ScheduledProcedureStepStartDate=day(world))
        for status, _ in assoc.send_c_find(query, ModalityWorklistInformationFind, msg_id=7):
            if status.Status == PENDING:
                received += 1
                if received == 1:
                    assoc.send_c_cancel(7, context_id)
            else:
                final = int(status.Status)
        assert final == CANCEL
        assert 1 <= received < 406
        # The association is still good for the next query.
        answers, final = find(assoc, with_keys(modality_query(), PatientID="MRN-YAMADA"))
        assert (len(answers), final) == (1, SUCCESS)
    finally:
        assoc.release()


def test_identifiers_that_do_not_fit_are_refused_and_the_server_goes_on(
    world: World, modality: Association
) -> None:
    two_steps = identifier([step(Modality="US"), step(Modality="CT")], PatientID="")
    assert find(modality, two_steps) == ([], A900)
    assert find(modality, identifier(PatientBirthDate="2026-13-45")) == ([], A900)
    assert find(modality, identifier(PatientID=["A", "B"])) == ([], A900)
    assert find(modality, raw_identifier([(0x001021C0, b"abc")])) == ([], C000)
    answers, final = find(modality, with_keys(modality_query(), PatientID="MRN-YAMADA"))
    assert (len(answers), final) == (1, SUCCESS)


def raw_identifier(elements: list[tuple[int, bytes]]) -> Dataset:
    """Bytes as a broken modality would send them (implicit VR little endian)."""
    ds = Dataset()
    for tag, value in elements:
        if tag == 0x00080005:  # pydicom (the client here) cannot even look at a NUL in it
            value = value.replace(b"\x00", b"?")
        if len(value) % 2:
            value += b" " if tag != 0x001021C0 else b""
        ds[tag] = RawDataElement(Tag(tag), None, len(value), value, 0, True, True)
    ds.set_original_encoding(True, True, ds._character_set)
    return ds


MWL_TAGS = [
    0x00080005,
    0x00080050,
    0x00100010,
    0x00100020,
    0x00100030,
    0x001021C0,
    0x0020000D,
    0x00321064,
    0x00400100,
    0x00401001,
    0x00400002,
    0x00400003,
    0x00080060,
    0x00400001,
]
garbage = st.lists(
    st.tuples(
        st.sampled_from(MWL_TAGS) | st.integers(0x00080006, 0x0040FFFF),
        st.binary(max_size=16) | st.text("09-*?^=\\.: AZ山", max_size=16).map(str.encode),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda e: e[0],
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(elements=garbage)
def test_random_and_malformed_identifiers_never_bring_the_server_down(
    world: World, dicom_port: int, elements: list[tuple[int, bytes]]
) -> None:
    assoc = associate(dicom_port)
    try:
        answers, final = find(assoc, raw_identifier(sorted(elements)))
        assert final in (SUCCESS, A900, C000)
        assert all(isinstance(answer, Dataset) for answer in answers)
        answers, final = find(assoc, with_keys(modality_query(), PatientID="MRN-YAMADA"))
        assert (len(answers), final) == (1, SUCCESS)
    finally:
        assoc.release()


def test_verification_is_answered(world: World, modality: Association) -> None:
    assert modality.send_c_echo().Status == SUCCESS


def test_every_answered_patient_is_in_the_access_log(world: World, modality: Association) -> None:
    before = AccessLog.objects.count()
    answers, _ = find(modality, modality_query(ScheduledProcedureStepStartDate=day(world)))
    rows = AccessLog.objects.order_by("-seq")[: AccessLog.objects.count() - before]
    assert {row.patient_mrn for row in rows} == {str(a.PatientID) for a in answers}
    assert {(row.channel, row.user_agent) for row in rows} == {("dicom", "DICOM AE MODALITY")}


def test_associations_close_the_database_connections_they_opened(
    world: World, dicom_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Released or aborted, an association's thread closes what it opened (on SQLite's
    in-memory test database Django keeps the connection: the close is what is checked)."""
    from radflow.interfaces import dicom_server

    opened: list[tuple[threading.Thread, Any]] = []
    closed: list[threading.Thread] = []
    main = threading.current_thread()

    def record(sender: Any, connection: Any, **kwargs: Any) -> None:
        if threading.current_thread() is not main:
            opened.append((threading.current_thread(), connection))

    class Spy:
        def close_all(self) -> None:
            closed.append(threading.current_thread())
            connections.close_all()

    def all_closed() -> bool:
        return all(any(thread is done for done in closed) for thread, _ in opened)

    monkeypatch.setattr(dicom_server, "connections", Spy())
    connection_created.connect(record)
    try:
        for _ in range(3):
            assoc = associate(dicom_port)
            find(assoc, with_keys(modality_query(), PatientID="MRN-YAMADA"))
            assoc.release()
        aborted = associate(dicom_port)
        find(aborted, with_keys(modality_query(), PatientID="MRN-YAMADA"))
        aborted.abort()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all_closed():
            time.sleep(0.05)
    finally:
        connection_created.disconnect(record)
    # One connection per association, reused for all its messages, closed at its end.
    assert len(opened) == len({id(thread) for thread, _ in opened}) == 4
    assert all_closed()
    if connection.vendor == "postgresql":
        assert all(c.connection is None for _, c in opened)
