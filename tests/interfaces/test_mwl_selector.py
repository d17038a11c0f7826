"""The worklist read from the database: which exams are steps, what a step says, how the
database narrows (indexes only), and the access log a query leaves."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from radflow.audit.models import AccessLog
from radflow.core.dicom.matching import parse_query
from radflow.core.dicom.worklist import Restriction, WorklistEntry
from radflow.interfaces import mwl
from radflow.interfaces.mwl import worklist_entries, worklist_read
from tests.core.dicom.worklist_entries import identifier, modality_query, step
from tests.interfaces.mwl_world import World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(reference: None, admin_user: User) -> World:
    return build_world(admin_user)


def accessions(world: World, found: list[WorklistEntry]) -> set[str]:
    by_accession = {exam.accession_number: key for key, exam in world.exams.items()}
    return {by_accession[entry.accession_number] for entry in found}


def ask(world: World, ds: Any, restriction: Restriction | None = None) -> set[str]:
    return accessions(world, list(worklist_entries(parse_query(ds), restriction=restriction)))


def day(world: World, days: int = 0) -> str:
    return (world.day + dt.timedelta(days=days)).strftime("%Y%m%d")


BOOKED_TODAY = {"mueller", "papadopoulou", "yamada", "ivanova", "smith", "smithers"}


def test_the_worklist_lists_booked_exams_that_are_scheduled_or_arrived(world: World) -> None:
    assert ask(world, modality_query()) == BOOKED_TODAY | {"tomorrow"}
    assert ask(world, modality_query(ScheduledProcedureStepStartDate=day(world))) == BOOKED_TODAY
    arrived = identifier(step(ScheduledProcedureStepStatus="ARRIVED"))
    assert ask(world, arrived) == {"smith"}


def test_a_step_says_what_the_modality_needs(world: World) -> None:
    found = {e.accession_number: e for e in worklist_entries(parse_query(modality_query()))}
    mueller = found[world.exams["mueller"].accession_number]
    assert mueller.patient_name == "Müller^Jürgen"
    assert mueller.patient_id == "MRN-MUELLER"
    assert mueller.performing_physician == "Lopez^Maria"
    assert mueller.sps_start == world.at(8)
    assert mueller.sps_start.utcoffset() == world.at(8).utcoffset()  # the department's clock
    assert mueller.location == "US-A"
    assert mueller.modality == "US"
    assert mueller.sps_status == "SCHEDULED"
    assert mueller.requested_procedure_id == mueller.sps_id == mueller.accession_number
    assert mueller.study_instance_uid == world.exams["mueller"].study_instance_uid


def test_details_asked_for_are_read_too(world: World) -> None:
    ds = identifier(
        Allergies="",
        PregnancyStatus=None,
        RequestedProcedureCodeSequence=[],
        RequestedProcedurePriority="",
        ReferringPhysicianName="",
        PatientID="MRN-SMITH",
    )
    (smith,) = worklist_entries(parse_query(ds))
    assert smith.allergies == "Latex, Penicillin"  # most severe first
    assert smith.pregnancy_status == 2  # intake answered "Possibly"
    assert smith.procedure_code is not None
    assert (smith.procedure_code.scheme, smith.procedure_code.value) == ("C4", "76856")
    assert smith.priority == "ROUTINE"
    assert smith.referring_physician == "Dr. Amelia Hart"
    (mueller,) = worklist_entries(
        parse_query(
            identifier(PatientID="MRN-MUELLER", PregnancyStatus=None, RequestedProcedurePriority="")
        )
    )
    assert mueller.pregnancy_status is None
    assert mueller.priority == "STAT"


def test_the_station_is_the_booked_device_else_the_rooms_registered_ae(world: World) -> None:
    ds = identifier(step(ScheduledStationAETitle="", ScheduledStationName=""))
    stations = {
        key: (e.station_ae, e.station_name)
        for e in worklist_entries(parse_query(ds))
        for key in accessions(world, [e])
    }
    assert stations["mueller"] == ("US_ROOM_A", "USSTNA")  # room A's scanner
    assert stations["yamada"] == ("US_ROOM_B", "USSTNB")  # room B has no scanner: its AE
    assert stations["smithers"] == ("CT_1", "CTSTN1")


def test_station_keys_find_their_steps(world: World) -> None:
    today = day(world)
    room_a = {"mueller", "papadopoulou", "smith"}
    by_ae = modality_query(
        ScheduledStationAETitle="US_ROOM_A", ScheduledProcedureStepStartDate=today
    )
    assert ask(world, by_ae) == room_a
    assert ask(world, identifier(step(ScheduledStationAETitle="US_ROOM_?"))) == (
        BOOKED_TODAY - {"smithers"}
    ) | {"tomorrow"}
    assert ask(world, identifier(step(ScheduledStationName="USSTNB"))) == {
        "yamada",
        "ivanova",
        "tomorrow",
    }
    assert ask(world, identifier(step(ScheduledStationAETitle="NOBODY"))) == set()


def test_names_in_any_script_and_case_find_their_patient(world: World) -> None:
    for key, expected in (
        ("MÜLLER^J*", {"mueller"}),
        ("müller^jürgen", {"mueller"}),
        ("ΠΑΠΑΔΟΠΟΎΛΟΥ*", {"papadopoulou"}),
        ("山田^太郎", {"yamada"}),
        ("山*", {"yamada"}),
        ("иванова*", {"ivanova"}),
        ("smith*", {"smith", "smithers"}),
        ("SMITH^*", {"smith"}),
        ("*ANNA", {"smith", "ivanova"} - {"ivanova"}),
        ("*^анна", {"ivanova"}),
        ("Doe*", {"tomorrow"}),
    ):
        assert ask(world, identifier(PatientName=key)) == expected, key


def test_identifiers_find_one_step(world: World) -> None:
    yamada = world.exams["yamada"]
    for ds in (
        identifier(AccessionNumber=yamada.accession_number),
        identifier(RequestedProcedureID=yamada.accession_number),
        identifier(step(ScheduledProcedureStepID=yamada.accession_number)),
        identifier(StudyInstanceUID=yamada.study_instance_uid),
        identifier(StudyInstanceUID=["2.25.1", yamada.study_instance_uid]),
        identifier(PatientID="MRN-YAMADA"),
        identifier(PatientID="MRN-YAM*"),
    ):
        assert ask(world, ds) == {"yamada"}, ds
    assert (
        ask(world, identifier(AccessionNumber=world.exams["requested"].accession_number)) == set()
    )
    assert (
        ask(world, identifier(AccessionNumber=world.exams["cancelled"].accession_number)) == set()
    )


def test_start_ranges_are_matched_on_the_departments_clock(world: World) -> None:
    today = day(world)
    morning = modality_query(
        ScheduledProcedureStepStartDate=today, ScheduledProcedureStepStartTime="0800-1000"
    )
    assert ask(world, morning) == {"mueller", "papadopoulou", "yamada"}
    overnight = modality_query(
        ScheduledProcedureStepStartDate=f"{today}-{day(world, 1)}",
        ScheduledProcedureStepStartTime="1600-0900",
    )
    # Combined (PS3.4 C.2.2.2.5.1): from today 16:00 to tomorrow 09:00.
    assert ask(world, overnight) == {"smith", "tomorrow"}
    assert ask(world, modality_query(ScheduledProcedureStepStartDate=f"{day(world, 1)}-")) == {
        "tomorrow"
    }
    assert ask(world, modality_query(ScheduledProcedureStepStartDate=f"-{day(world, -1)}")) == set()


def test_modality_and_code_keys(world: World) -> None:
    assert ask(world, identifier(step(Modality="CT"))) == {"smithers"}
    code = identifier(RequestedProcedureCodeSequence=[step(CodeValue="76856")])
    assert ask(world, code) == {"smith"}


def test_a_restricted_station_sees_only_its_room_and_modality(world: World) -> None:
    room_b = Restriction(room_id=str(world.room_b.pk))
    assert ask(world, modality_query(), room_b) == {"yamada", "ivanova", "tomorrow"}
    assert ask(world, identifier(PatientName="Müller*"), room_b) == set()
    assert ask(world, modality_query(), Restriction(modality="CT")) == {"smithers"}


def test_reading_the_worklist_logs_each_patient_read_once(world: World) -> None:
    before = AccessLog.objects.count()
    found = worklist_read(
        parse_query(modality_query()),
        restriction=None,
        calling_ae="US_ROOM_A",
        address="10.0.0.5",
    )
    rows = list(AccessLog.objects.order_by("seq")[before:])
    patients = {entry.patient_key for entry in found}
    assert len(found) == len(patients) == len(rows) == 7
    assert {str(row.patient_id) for row in rows} == patients
    assert {(row.action, row.channel, row.username) for row in rows} == {
        ("worklist.query", "dicom", "anonymous")
    }
    assert {(row.ip_address, row.user_agent) for row in rows} == {
        ("10.0.0.5", "DICOM AE US_ROOM_A")
    }


def test_a_query_without_matches_logs_nothing(world: World) -> None:
    before = AccessLog.objects.count()
    worklist_read(
        parse_query(identifier(PatientID="NOBODY")),
        restriction=None,
        calling_ae="US_ROOM_A",
        address="10.0.0.5",
    )
    assert AccessLog.objects.count() == before


def test_a_query_costs_a_few_database_round_trips(
    world: World, django_assert_max_num_queries: Any
) -> None:
    everything = modality_query(ScheduledStationAETitle="US_ROOM_*")
    everything.Allergies = ""
    everything.PregnancyStatus = None
    everything.RequestedProcedureCodeSequence = []
    query = parse_query(everything)
    # stations, steps, allergies, codes, room AEs; then the access log's append.
    with django_assert_max_num_queries(5):
        assert len(list(worklist_entries(query))) == 6
    with django_assert_max_num_queries(5 + 6):
        worklist_read(query, restriction=None, calling_ae="X", address=None)


# --- the indexes ----------------------------------------------------------------------------


def plan(ds: Any, restriction: Restriction | None = None) -> str:
    """The database's plan for the step query, with sequential scans made a last resort on
    PostgreSQL so that a missing index shows as a scan even on a small table."""
    query = parse_query(ds)
    zone = timezone.get_current_timezone()
    candidates = mwl._candidates(query, restriction, zone)
    assert candidates is not None
    sql, params = candidates.values(*mwl._columns(query.fields)).query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def scans(text: str, table: str) -> bool:
    if connection.vendor == "postgresql":
        return re.search(rf"Seq Scan on {table}\b", text) is not None
    return re.search(rf"\bSCAN {table}\b(?! USING)", text) is not None


def named(ds: Any, name: str) -> Any:
    ds.PatientName = name
    return ds


def driving_index(text: str) -> str:
    """The index the exams are found by: SQLite's first search of exams or patients (a room
    list may come first), PostgreSQL's index scans."""
    if connection.vendor == "postgresql":
        found = re.findall(r"Index (?:Only )?Scan using (\S+)|Bitmap Index Scan on (\S+)", text)
        return " ".join(a or b for a, b in found)
    return next(
        (line for line in text.splitlines() if re.search(r"exams_exam|patients_patient", line)),
        "",
    )


@pytest.mark.parametrize(
    ("ds", "index"),
    [
        pytest.param(
            lambda w: modality_query(ScheduledProcedureStepStartDate=day(w)),
            "exam_state_start_idx",
            id="day",
        ),
        pytest.param(
            lambda w: identifier(AccessionNumber="RF0000*"), "accession_number", id="accession*"
        ),
        pytest.param(
            lambda w: identifier(AccessionNumber="RF00000001"), "accession_number", id="accession"
        ),
        pytest.param(
            lambda w: identifier(StudyInstanceUID="2.25.1"), "study_instance_uid", id="study-uid"
        ),
        pytest.param(lambda w: identifier(PatientID="MRN-YAMADA"), "patient_mrn_idx", id="mrn"),
        pytest.param(lambda w: identifier(PatientID="MRN-Y*"), "patient_mrn_idx", id="mrn*"),
        pytest.param(lambda w: identifier(PatientName="smith*"), "name_key", id="name*"),
        pytest.param(lambda w: identifier(PatientName="山田^太郎"), "name_key", id="name"),
        pytest.param(
            lambda w: modality_query(
                ScheduledStationAETitle="US_ROOM_A", ScheduledProcedureStepStartDate=""
            ),
            # With no date, any of the exams' room or state indexes finds the room's open steps
            # without a scan; which one PostgreSQL picks follows its statistics, which differ
            # between a run of this file and a run of the whole suite.
            (
                "exam_room_start_idx",
                "exam_state_start_idx",
                "exam_state_completed_idx",
                "exams_exam_room_id",
            ),
            id="station",
        ),
        pytest.param(
            lambda w: modality_query(
                ScheduledStationAETitle="US_ROOM_?", ScheduledProcedureStepStartDate=day(w)
            ),
            "exam_room_start_idx",
            id="station-day",
        ),
        pytest.param(
            lambda w: named(modality_query(ScheduledProcedureStepStartDate=day(w)), "smith*"),
            "",
            id="name-and-day",
        ),
    ],
)
def test_every_narrowing_key_is_served_by_its_index(
    world: World, ds: Any, index: str | tuple[str, ...]
) -> None:
    text = plan(ds(world))
    assert not scans(text, "exams_exam"), text
    assert not scans(text, "patients_patient"), text
    accepted = (index,) if isinstance(index, str) else index
    assert any(name in driving_index(text) for name in accepted), text
