"""MPPS from a modality over real TCP: a pynetdicom client talks to `radflow dicom`, and the
tests check what the department sees: the exam's state, its timestamps and image count, the
audited timeline (actor ``mpps:<AE>``), the reconciliation page and the schedule board.

The clock is held (time_machine, ticking) on a plain Monday so every timestamp is exact: the
exam is booked at 07:00 for 09:00, the modality starts at 09:01:30 and ends at 09:24.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pynetdicom import AE
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    ModalityPerformedProcedureStep,
    Verification,
)

from radflow.audit.models import AccessLog
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam, ExamTransition
from radflow.exams.services import exam_arrive
from radflow.intake.models import IdentityCheck, IdentityMethod, PrepCheck, ScreeningAnswer
from radflow.intake.selectors import exam_hard_stops
from radflow.interfaces.models import ApplicationEntity, DicomPolicy, PerformedProcedureStep
from radflow.patients.models import Patient
from tests.conftest import client_for
from tests.core.dicom.mpps_datasets import n_create, n_set_completed, n_set_discontinued
from tests.patients.factories import PatientFactory
from tests.scheduling.board_setup import (
    MONDAY,
    BoardSite,
    board_site,
    board_url,
    book,
    local,
    read_board,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference")]

STATION = "US_ROOM_1"
DAY = MONDAY.strftime("%Y%m%d")
_uids = itertools.count(1)


def new_uid() -> str:
    return f"1.2.826.0.1.3680043.10.543.9.{next(_uids)}"


# --- the server and the modality ----------------------------------------------------------------


@dataclass
class Modality:
    """A modality console: one association per message, as most consoles do."""

    port: int
    ae_title: str = STATION

    def _send(self, call: str, ds: Dataset | None, uid: str | None) -> tuple[Dataset, Any]:
        ae = AE(ae_title=self.ae_title)
        ae.add_requested_context(ModalityPerformedProcedureStep)
        ae.add_requested_context(Verification)
        assoc = ae.associate("127.0.0.1", self.port, ae_title="RADFLOW")
        assert assoc.is_established
        try:
            if call == "echo":
                return assoc.send_c_echo(), None
            assert ds is not None
            if call == "create":
                status, attrs = assoc.send_n_create(ds, ModalityPerformedProcedureStep, uid)
            else:
                assert uid is not None
                status, attrs = assoc.send_n_set(ds, ModalityPerformedProcedureStep, uid)
            assert status is not None, "no response"
            return status, attrs
        finally:
            assoc.release()

    def create(self, ds: Dataset, uid: str | None) -> tuple[Dataset, Any]:
        return self._send("create", ds, uid)

    def set(self, ds: Dataset, uid: str) -> tuple[Dataset, Any]:
        return self._send("set", ds, uid)

    def echo(self) -> int:
        status, _ = self._send("echo", None, None)
        return int(status.Status)


@pytest.fixture
def place(db: None) -> BoardSite:
    return board_site("MPP")


@pytest.fixture
def modality(dicom_port: int, place: BoardSite) -> Modality:
    """A registered ultrasound console in room US1, talking to ``radflow dicom``
    (tests/interfaces/conftest.py: the real server, its association policy and handlers)."""
    ApplicationEntity.objects.create(ae_title=STATION, room=place.us1, modality=place.us1.modality)
    return Modality(dicom_port)


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(local(MONDAY, 7), tick=True) as traveller:
        yield traveller


# --- helpers --------------------------------------------------------------------------------------


def at(hour: int, minute: int, second: int = 0) -> dt.datetime:
    return local(MONDAY, hour, minute).replace(second=second)


def dicom_date(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%d")


def dicom_time(moment: dt.datetime) -> str:
    return moment.strftime("%H%M%S")


def booked(place: BoardSite, by: User, **order: Any) -> Exam:
    """An exam booked at 09:00 (made at 07:00, while the clock is held)."""
    return book(place.us1, at(9, 0), by=by, **order)


def complete_intake(exam: Exam, *, by: User) -> None:
    """What the intake screens record, so no hard stop is left."""
    now = dt.datetime.now(tz=dt.UTC)
    IdentityCheck.objects.create(exam=exam, method=IdentityMethod.NAME_BIRTH_DATE, at=now, by=by)
    for item in exam.order.exam_type.required_screening.all():
        ScreeningAnswer.objects.create(
            exam=exam, item=item, answer="no", result="cleared", at=now, by=by
        )
    PrepCheck.objects.create(exam=exam, prep_ok=True, at=now, by=by)
    assert exam_hard_stops(exam, on=MONDAY) == []


def started(exam: Exam, **extra: Any) -> Dataset:
    """The N-CREATE the console sends when the sonographer starts the exam at 09:01:30."""
    start = at(9, 1, 30)
    patient = exam.order.patient
    return n_create(
        accession=exam.accession_number,
        study_uid=exam.study_instance_uid,
        patient_id=patient.mrn,
        patient_name=f"{patient.family_name}^{patient.given_name}",
        start_date=dicom_date(start),
        start_time=dicom_time(start),
        station_ae=STATION,
        **extra,
    )


def timeline(exam: Exam) -> list[tuple[str, str, str]]:
    return [
        (t.action, t.to_state, t.actor)
        for t in ExamTransition.objects.filter(exam=exam).order_by("at", "id")
    ]


def status_of(response: Dataset) -> int:
    return int(response.Status)


# --- the happy paths ------------------------------------------------------------------------------


def test_in_progress_then_completed_moves_the_exam_with_times_images_and_audit(
    clock: Any, place: BoardSite, modality: Modality, admin_user: User
) -> None:
    exam = booked(place, admin_user)
    clock.move_to(at(8, 50))
    exam_arrive(exam=exam, by=admin_user)
    complete_intake(exam, by=admin_user)
    uid = new_uid()

    clock.move_to(at(9, 2))
    status, _ = modality.create(started(exam), uid)
    assert status_of(status) == 0x0000
    exam.refresh_from_db()
    assert exam.state == ExamState.IN_PROGRESS
    assert exam.in_progress_at == at(9, 1, 30)
    step = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    assert (step.exam, step.status, step.flagged, step.apply_error) == (
        exam,
        "IN PROGRESS",
        False,
        "",
    )

    clock.move_to(at(9, 25))
    end = at(9, 24)
    status, _ = modality.set(
        n_set_completed(end_date=dicom_date(end), end_time=dicom_time(end), images=(12, 3)), uid
    )
    assert status_of(status) == 0x0000
    exam.refresh_from_db()
    assert exam.state == ExamState.COMPLETED
    assert exam.completed_at == end
    assert exam.images_count == 15
    step.refresh_from_db()
    assert [(s["description"], s["images"]) for s in step.performed_series] == [
        ("Series 1", 12),
        ("Series 2", 3),
    ]
    assert timeline(exam)[-2:] == [
        ("begin", "in_progress", f"mpps:{STATION}"),
        ("complete", "completed", f"mpps:{STATION}"),
    ]
    completion = ExamTransition.objects.get(exam=exam, action="complete")
    assert completion.by is None
    assert completion.details["images"] == 15
    assert completion.details["mpps"] == uid


def test_a_scheduled_exam_is_arrived_then_begun_by_the_modality(
    clock: Any, place: BoardSite, modality: Modality, admin_user: User
) -> None:
    exam = booked(place, admin_user)
    complete_intake(exam, by=admin_user)
    clock.move_to(at(9, 2))
    status, _ = modality.create(started(exam), new_uid())
    assert status_of(status) == 0x0000
    exam.refresh_from_db()
    assert exam.state == ExamState.IN_PROGRESS
    assert exam.arrived_at == exam.in_progress_at == at(9, 1, 30)
    assert timeline(exam)[-2:] == [
        ("arrive", "arrived", f"mpps:{STATION}"),
        ("begin", "in_progress", f"mpps:{STATION}"),
    ]


def test_discontinued_with_its_reason_discontinues_the_exam(
    clock: Any, place: BoardSite, modality: Modality, admin_user: User
) -> None:
    exam = booked(place, admin_user)
    complete_intake(exam, by=admin_user)
    uid = new_uid()
    clock.move_to(at(9, 2))
    assert status_of(modality.create(started(exam), uid)[0]) == 0x0000
    clock.move_to(at(9, 12))
    stop = at(9, 10)
    status, _ = modality.set(
        n_set_discontinued(end_date=dicom_date(stop), end_time=dicom_time(stop)), uid
    )
    assert status_of(status) == 0x0000
    exam.refresh_from_db()
    assert exam.state == ExamState.DISCONTINUED
    assert exam.discontinued_at == stop
    assert exam.reason_code == "equipment_failure"
    assert "Equipment failure" in exam.reason_text
    assert timeline(exam)[-1] == ("discontinue", "discontinued", f"mpps:{STATION}")
    # The room is free again from the moment the scan stopped.
    assert ExamTransition.objects.get(exam=exam, action="discontinue").reason_code == (
        "equipment_failure"
    )


def test_a_discontinuation_without_a_listed_reason_gets_the_unspecified_code(
    clock: Any, place: BoardSite, modality: Modality, admin_user: User
) -> None:
    exam = booked(place, admin_user)
    complete_intake(exam, by=admin_user)
    uid = new_uid()
    clock.move_to(at(9, 2))
    modality.create(started(exam), uid)
    clock.move_to(at(9, 12))
    status, _ = modality.set(n_set_discontinued(end_date=DAY, end_time="091000", reason=None), uid)
    assert status_of(status) == 0x0000
    exam.refresh_from_db()
    assert (exam.state, exam.reason_code) == (ExamState.DISCONTINUED, "modality_unspecified")


# --- what the modality is refused ---------------------------------------------------------------


def test_an_n_set_after_completion_answers_0x0110_and_changes_nothing(
    clock: Any, place: BoardSite, modality: Modality, admin_user: User
) -> None:
    exam = booked(place, admin_user)
    complete_intake(exam, by=admin_user)
    uid = new_uid()
    clock.move_to(at(9, 2))
    modality.create(started(exam), uid)
    clock.move_to(at(9, 25))
    assert (
        status_of(modality.set(n_set_completed(end_date=DAY, end_time="092400"), uid)[0]) == 0x0000
    )
    moves = len(timeline(exam))

    status, _ = modality.set(n_set_discontinued(end_date=DAY, end_time="092400"), uid)
    assert status_of(status) == 0x0110
    assert status.ErrorComment == "Performed Procedure Step Object may no longer be updated"
    assert status.ErrorID == 0xA710
    exam.refresh_from_db()
    assert exam.state == ExamState.COMPLETED
    assert len(timeline(exam)) == moves
    assert PerformedProcedureStep.objects.get(sop_instance_uid=uid).status == "COMPLETED"


def test_a_duplicate_n_create_answers_0x0111(
    clock: Any, place: BoardSite, modality: Modality, admin_user: User
) -> None:
    exam = booked(place, admin_user)
    complete_intake(exam, by=admin_user)
    uid = new_uid()
    clock.move_to(at(9, 2))
    assert status_of(modality.create(started(exam), uid)[0]) == 0x0000
    status, _ = modality.create(started(exam), uid)
    assert status_of(status) == 0x0111
    assert PerformedProcedureStep.objects.filter(sop_instance_uid=uid).count() == 1


def test_an_n_set_for_an_unknown_instance_answers_0x0112(clock: Any, modality: Modality) -> None:
    status, _ = modality.set(n_set_completed(), new_uid())
    assert status_of(status) == 0x0112


def test_a_missing_type_1_attribute_is_named_in_the_response(
    clock: Any, place: BoardSite, modality: Modality, admin_user: User
) -> None:
    exam = booked(place, admin_user)
    ds = started(exam)
    del ds.PerformedProcedureStepStartTime
    status, _ = modality.create(ds, new_uid())
    assert status_of(status) == 0x0120
    assert status.ErrorComment == "PerformedProcedureStepStartTime missing"
    assert PerformedProcedureStep.objects.count() == 0


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_an_n_set_names_the_attribute_at_fault_in_its_identifier_list(
    clock: Any, place: BoardSite, modality: Modality, admin_user: User
) -> None:
    exam = booked(place, admin_user)
    uid = new_uid()
    clock.move_to(at(9, 2))
    modality.create(started(exam), uid)
    bad = n_set_completed(end_date=DAY, end_time="092400")
    bad.PerformedProcedureStepEndDate = "20261399"
    status, _ = modality.set(bad, uid)
    assert status_of(status) == 0x0106
    assert status.AttributeIdentifierList == 0x00400250  # one tag: a single value
    assert PerformedProcedureStep.objects.get(sop_instance_uid=uid).status == "IN PROGRESS"


def test_the_scp_names_the_instance_when_the_modality_does_not(
    clock: Any, place: BoardSite, modality: Modality, admin_user: User
) -> None:
    exam = booked(place, admin_user)
    complete_intake(exam, by=admin_user)
    clock.move_to(at(9, 2))
    status, _ = modality.create(started(exam), None)
    assert status_of(status) == 0x0000
    step = PerformedProcedureStep.objects.get()
    assert step.sop_instance_uid.startswith("2.25.")
    assert step.exam == exam


def test_an_unknown_ae_may_not_send_mpps_and_nothing_is_stored(
    clock: Any, place: BoardSite, dicom_port: int, admin_user: User
) -> None:
    DicomPolicy.objects.update_or_create(pk=1, defaults={"unknown_caller": "read_only"})
    exam = booked(place, admin_user)
    clock.move_to(at(9, 2))
    status, _ = Modality(dicom_port, ae_title="ROGUE").create(started(exam), new_uid())
    assert status_of(status) == 0x0124
    assert PerformedProcedureStep.objects.count() == 0
    exam.refresh_from_db()
    assert exam.state == ExamState.SCHEDULED


# --- reconciliation ------------------------------------------------------------------------------


def test_an_unmatched_mpps_lands_on_the_reconciliation_page_and_linking_moves_the_exam(
    clock: Any, place: BoardSite, modality: Modality, admin_user: User, coordinator: User
) -> None:
    exam = booked(place, admin_user)
    complete_intake(exam, by=admin_user)
    uid = new_uid()
    clock.move_to(at(9, 2))
    walk_up = n_create(
        accession="",
        study_uid="1.2.826.0.1.3680043.10.543.77",
        patient_id="CONSOLE-1",
        patient_name="Typed^AtTheConsole",
        start_date=dicom_date(at(9, 1, 30)),
        start_time=dicom_time(at(9, 1, 30)),
    )
    assert status_of(modality.create(walk_up, uid)[0]) == 0x0000
    step = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    assert step.exam is None

    clock.move_to(at(9, 25))
    status, _ = modality.set(n_set_completed(end_date=DAY, end_time="092400"), uid)
    assert status_of(status) == 0x0000  # stored while unmatched
    step.refresh_from_db()
    assert (step.status, step.images_count, step.exam) == ("COMPLETED", 15, None)

    client = client_for(coordinator)
    page = client.get(reverse("interfaces:mpps")).content.decode()
    assert "Typed^AtTheConsole" in page and "CONSOLE-1" in page
    assert "No scheduled exam matches." in page

    detail = client.get(
        reverse("interfaces:mpps_step", kwargs={"pk": step.pk}),
        {"q": exam.order.patient.mrn},
    ).content.decode()
    assert f'id="candidate-{exam.accession_number}"' in detail

    response = client.post(
        reverse("interfaces:mpps_link", kwargs={"pk": step.pk}), {"exam": str(exam.pk)}
    )
    assert response.status_code == 302
    exam.refresh_from_db()
    assert exam.state == ExamState.COMPLETED
    assert (exam.in_progress_at, exam.completed_at) == (at(9, 1, 30), at(9, 24))
    assert exam.images_count == 15
    actor = f"mpps:{STATION} linked by {coordinator.get_username()}"
    assert timeline(exam)[-3:] == [
        ("arrive", "arrived", actor),
        ("begin", "in_progress", actor),
        ("complete", "completed", actor),
    ]
    step.refresh_from_db()
    assert step.exam == exam
    assert step.linked_by == coordinator
    assert "Typed^AtTheConsole" not in client.get(reverse("interfaces:mpps")).content.decode()


def test_a_step_for_a_patient_other_than_the_exams_waits_for_a_person(
    clock: Any, place: BoardSite, modality: Modality, admin_user: User, coordinator: User
) -> None:
    exam = booked(place, admin_user)
    uid = new_uid()
    clock.move_to(at(9, 2))
    ds = started(exam, PatientID="SOMEONE-ELSE")
    assert status_of(modality.create(ds, uid)[0]) == 0x0000
    exam.refresh_from_db()
    assert exam.state == ExamState.SCHEDULED
    step = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    assert step.exam is None
    assert "Patient ID" in step.apply_error
    page = client_for(coordinator).get(reverse("interfaces:mpps")).content.decode()
    assert "check who was scanned" in page


def test_a_walk_in_scanned_at_the_console_gets_an_order_from_the_page(
    clock: Any, place: BoardSite, modality: Modality, coordinator: User
) -> None:
    known = PatientFactory.create(mrn="WALKIN-7")
    uid = new_uid()
    clock.move_to(at(9, 2))
    ds = n_create(
        patient_id="WALKIN-7",
        patient_name=f"{known.family_name}^{known.given_name}",
        start_date=dicom_date(at(9, 1, 30)),
        start_time=dicom_time(at(9, 1, 30)),
    )
    assert status_of(modality.create(ds, uid)[0]) == 0x0000
    step = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    response = client_for(coordinator).post(
        reverse("interfaces:mpps_order", kwargs={"pk": step.pk}),
        {"exam_type": _exam_type_pk("us-renal-complete"), "priority": "routine"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    step.refresh_from_db()
    assert step.exam is not None
    exam = step.exam
    assert exam.order.patient == known
    assert exam.state == ExamState.IN_PROGRESS
    assert exam.in_progress_at == at(9, 1, 30)
    assert exam.room == place.us1  # the station's room, from the AE registry
    assert [move[0] for move in timeline(exam)] == [
        "triage",
        "authorize",
        "schedule",
        "arrive",
        "begin",
    ]
    # Begun without any intake: flagged for the coordinator.
    assert step.flagged


def test_a_walk_in_unknown_to_radflow_is_registered_from_the_steps_demographics(
    clock: Any, place: BoardSite, modality: Modality, coordinator: User
) -> None:
    uid = new_uid()
    clock.move_to(at(9, 2))
    ds = n_create(
        patient_id="NEW-42",
        patient_name="Novak^Ana^M",
        birth_date="19910704",
        sex="F",
        start_date=dicom_date(at(9, 1, 30)),
        start_time=dicom_time(at(9, 1, 30)),
    )
    modality.create(ds, uid)
    step = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    response = client_for(coordinator).post(
        reverse("interfaces:mpps_order", kwargs={"pk": step.pk}),
        {"exam_type": _exam_type_pk("us-renal-complete"), "priority": "routine"},
    )
    assert response.status_code == 302
    patient = Patient.objects.get(mrn="NEW-42")
    assert (patient.family_name, patient.given_name, patient.middle_name) == ("Novak", "Ana", "M")
    assert (patient.birth_date, patient.sex) == (dt.date(1991, 7, 4), "F")


def _exam_type_pk(code: str) -> str:
    from radflow.catalog.models import ExamType

    return str(ExamType.objects.get(code=code).pk)


# --- hard stops unmet at the modality ------------------------------------------------------------


def test_a_scan_begun_with_a_hard_stop_unmet_is_accepted_and_flagged_until_cleared(
    clock: Any, place: BoardSite, modality: Modality, admin_user: User, coordinator: User
) -> None:
    exam = booked(place, admin_user)  # no intake at all: identity not confirmed
    uid = new_uid()
    clock.move_to(at(9, 2))
    status, _ = modality.create(started(exam), uid)
    assert status_of(status) == 0x0000
    exam.refresh_from_db()
    assert exam.state == ExamState.IN_PROGRESS
    step = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    codes = [item["code"] for item in step.missing]
    assert step.flagged and "identity" in codes
    begin = ExamTransition.objects.get(exam=exam, action="begin")
    assert begin.details["missing"] == codes
    assert not exam.overrides.exists()  # nobody overrode anything

    client = client_for(coordinator)
    page = client.get(reverse("interfaces:mpps")).content.decode()
    assert f'id="flag-{step.pk}"' in page
    assert "Identity not confirmed" in page
    board = read_board(client.get(board_url(place.site, MONDAY)))
    warning = "Begun at the modality: " + ", ".join(codes)
    assert warning in board.blocks[exam.accession_number].warnings
    exam_page = reverse("exams:detail", kwargs={"pk": exam.pk})
    assert "Begun at the modality with hard stops unmet" in client.get(exam_page).content.decode()

    response = client.post(
        reverse("interfaces:mpps_clear", kwargs={"pk": step.pk}),
        {"note": "Identity confirmed with name and birth date after the scan."},
    )
    assert response.status_code == 302
    step.refresh_from_db()
    assert (step.flagged, step.flag_cleared_by) == (False, coordinator)
    assert f'id="flag-{step.pk}"' not in client.get(reverse("interfaces:mpps")).content.decode()
    board = read_board(client.get(board_url(place.site, MONDAY)))
    assert warning not in board.blocks[exam.accession_number].warnings
    assert "Begun at the modality" not in client.get(exam_page).content.decode()


def test_the_page_logs_each_patient_it_shows_and_refuses_other_roles(
    clock: Any,
    place: BoardSite,
    modality: Modality,
    admin_user: User,
    director: User,
    technologist: User,
) -> None:
    exam = booked(place, admin_user)
    clock.move_to(at(9, 2))
    modality.create(started(exam), new_uid())  # flagged: no intake
    before = AccessLog.objects.count()
    assert client_for(director).get(reverse("interfaces:mpps")).status_code == 200
    assert AccessLog.objects.count() == before + 1
    assert client_for(technologist).get(reverse("interfaces:mpps")).status_code == 403


def test_a_step_on_a_cancelled_exam_is_stored_and_shown_as_not_applied(
    clock: Any, place: BoardSite, modality: Modality, admin_user: User, coordinator: User
) -> None:
    from radflow.exams.services import exam_cancel

    exam = booked(place, admin_user)
    exam_cancel(exam=exam, by=admin_user, reason_code="patient_request")
    uid = new_uid()
    clock.move_to(at(9, 2))
    assert status_of(modality.create(started(exam), uid)[0]) == 0x0000
    step = PerformedProcedureStep.objects.get(sop_instance_uid=uid)
    assert step.exam == exam
    assert "cancelled" in step.apply_error
    page = client_for(coordinator).get(reverse("interfaces:mpps")).content.decode()
    assert f'id="step-{step.pk}"' in page


# --- robustness -----------------------------------------------------------------------------------

KEYWORDS = [
    "PerformedProcedureStepStatus",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
    "PerformedProcedureStepEndDate",
    "PerformedProcedureStepEndTime",
    "PerformedProcedureStepID",
    "PerformedStationAETitle",
    "Modality",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "TimezoneOffsetFromUTC",
]
values = st.one_of(
    st.none(),
    st.text(max_size=70),
    st.binary(max_size=40),
    st.sampled_from(["IN PROGRESS", "COMPLETED", "20260302", "25:00", "US", "", "+2500"]),
)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    changes=st.dictionaries(st.sampled_from(KEYWORDS), values, max_size=5),
    as_set=st.booleans(),
)
def test_malformed_datasets_get_an_error_status_and_the_server_keeps_answering(
    clock: Any, modality: Modality, changes: dict[str, Any], as_set: bool
) -> None:
    ds = n_create(start_date="20260302", start_time="090130")
    for keyword, value in changes.items():
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        elif isinstance(value, bytes):  # raw bytes on the wire, whatever the VR allows
            tag = Tag(tag_for_keyword(keyword) or 0)
            raw = value + b" " * (len(value) % 2)
            ds[tag] = RawDataElement(tag, dictionary_VR(tag), len(raw), raw, 0, True, True)
        else:
            setattr(ds, keyword, value)
    uid = new_uid()
    try:
        status, _ = modality.set(ds, uid) if as_set else modality.create(ds, uid)
    except ValueError:  # pynetdicom could not encode it: nothing reached the server
        return
    code = status_of(status)
    stored = PerformedProcedureStep.objects.filter(sop_instance_uid=uid).exists()
    if code == 0x0000:
        assert stored and not as_set
    else:
        assert code in {0x0106, 0x0110, 0x0112, 0x0120, 0x0121}, hex(code)
        assert not stored or as_set
    assert modality.echo() == 0x0000
