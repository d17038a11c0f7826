"""The Modality Worklist as a real modality client sees it: dcmtk's ``findscu -W``.

Queries are written as dcmtk dump files and converted with ``dump2dcm`` (as a site engineer
would), answers are extracted with ``-X`` and read back with pydicom.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from pydicom import dcmread
from pydicom.dataset import Dataset

from radflow.interfaces.models import UnknownCallerPolicy
from radflow.interfaces.services import policy_set
from tests.interfaces.mwl_world import World, build_world, bulk_steps, slow_answers

pytestmark = pytest.mark.django_db(transaction=True)

FINDSCU = "/usr/bin/findscu"
DUMP2DCM = "/usr/bin/dump2dcm"


@pytest.fixture
def world(dicom_port: int, reference: None, admin_user: User) -> World:
    built = build_world(admin_user)
    policy_set(unknown_caller=UnknownCallerPolicy.READ_ONLY)
    return built


def query_dump(
    *,
    charset: str = "ISO_IR 100",
    patient_name: str = "",
    patient_id: str = "",
    accession: str = "",
    modality: str = "",
    station: str = "",
    date: str = "",
    time: str = "",
    extra: str = "",
    second_step: bool = False,
) -> str:
    """A worklist query as a modality sends it (the keys of DICOM PS3.4 K.6's examples)."""
    item = f"""(fffe,e000) -
(0008,0060) CS  [{modality}]
(0040,0001) AE  [{station}]
(0040,0002) DA  [{date}]
(0040,0003) TM  [{time}]
(0040,0006) PN  []
(0040,0007) LO  []
(0040,0009) SH  []
(0040,0010) SH  []
(0040,0011) SH  []
(fffe,e00d) -
"""
    return f"""(0008,0005) CS  [{charset}]
(0008,0050) SH  [{accession}]
(0008,0090) PN  []
(0010,0010) PN  [{patient_name}]
(0010,0020) LO  [{patient_id}]
(0010,0030) DA  []
(0010,0040) CS  []
(0020,000d) UI  []
(0032,1060) LO  []
{extra}(0040,0100) SQ
{item}{item if second_step else ""}(fffe,e0dd) -
(0040,1001) SH  []
"""


def findscu(
    port: int, dump: str, tmp_path: Path, *args: str, calling: str = "FINDSCU"
) -> tuple[list[Dataset], str]:
    """Run ``findscu -W`` with ``dump``; the answers (in order) and findscu's log."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    source, query = tmp_path / "query.dump", tmp_path / "query.dcm"
    # A Latin-1 modality writes Latin-1 bytes; dump2dcm copies the file's bytes as they are.
    source.write_bytes(dump.encode("latin-1" if "[ISO_IR 100]" in dump else "utf-8"))
    subprocess.run([DUMP2DCM, "-q", str(source), str(query)], check=True, timeout=30)  # noqa: S603
    out = tmp_path / "answers"
    out.mkdir(exist_ok=True)
    for old in out.glob("rsp*.dcm"):
        old.unlink()
    done = subprocess.run(  # noqa: S603
        [
            FINDSCU,
            "-v",
            "-W",
            "-aet",
            calling,
            "-aec",
            "RADFLOW",
            "-X",
            "-od",
            str(out),
            *args,
            "127.0.0.1",
            str(port),
            str(query),
        ],
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [dcmread(path) for path in sorted(out.glob("rsp*.dcm"))], done.stdout + done.stderr


def steps(world: World, answers: list[Dataset]) -> set[str]:
    by_accession = {exam.accession_number: key for key, exam in world.exams.items()}
    return {by_accession[str(answer.AccessionNumber)] for answer in answers}


def day(world: World, days: int = 0) -> str:
    return (world.day + dt.timedelta(days=days)).strftime("%Y%m%d")


def test_a_stations_day(world: World, dicom_port: int, tmp_path: Path) -> None:
    answers, _ = findscu(
        dicom_port, query_dump(modality="US", station="US_ROOM_A", date=day(world)), tmp_path
    )
    assert steps(world, answers) == {"mueller", "papadopoulou", "smith"}
    times = [a.ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime for a in answers]
    assert times == ["080000", "093000", "164500"]  # by start time, the department's clock


def test_each_matching_rule(world: World, dicom_port: int, tmp_path: Path) -> None:
    today = day(world)
    for dump, expected in (
        (query_dump(patient_name="SMITH*"), {"smith", "smithers"}),
        (query_dump(patient_name="smith^anna"), {"smith"}),
        (query_dump(patient_name="*^J?RGEN"), {"mueller"}),
        (query_dump(accession=world.exams["yamada"].accession_number), {"yamada"}),
        (query_dump(patient_id="MRN-IVANOVA"), {"ivanova"}),
        (query_dump(station="US_ROOM_?", date=today, time="0900-1200"), {"papadopoulou", "yamada"}),
        (
            query_dump(date=f"{day(world, -3)}-{day(world, 3)}"),
            {"mueller", "papadopoulou", "yamada", "ivanova", "smith", "smithers", "tomorrow"},
        ),
        (query_dump(date=f"{day(world, 1)}-"), {"tomorrow"}),
        (query_dump(date=f"-{day(world, -1)}"), set()),
        (query_dump(date=f"{today}-{day(world, 1)}", time="1600-0900"), {"smith", "tomorrow"}),
        (query_dump(modality="CT"), {"smithers"}),
    ):
        answers, log = findscu(dicom_port, dump, tmp_path)
        assert steps(world, answers) == expected, dump
        assert "Received Final Find Response (Success)" in log


@pytest.mark.parametrize(
    ("charset", "key", "name"),
    [
        ("ISO_IR 192", "山田*", "山田^太郎"),
        ("ISO_IR 192", "ΠΑΠΑΔΟΠΟΎΛΟΥ*", "Παπαδοπούλου^Ελένη"),
        ("ISO_IR 192", "иванова^анна", "Иванова^Анна"),
        ("ISO_IR 100", "MÜLLER*", "Müller^Jürgen"),
    ],
)
def test_names_round_trip_in_their_character_set(
    world: World, dicom_port: int, tmp_path: Path, charset: str, key: str, name: str
) -> None:
    answers, _ = findscu(dicom_port, query_dump(charset=charset, patient_name=key), tmp_path)
    assert [str(a.PatientName) for a in answers] == [name]
    assert answers[0].SpecificCharacterSet == charset


def test_a_latin_1_modality_gets_other_scripts_in_utf_8(
    world: World, dicom_port: int, tmp_path: Path
) -> None:
    answers, _ = findscu(dicom_port, query_dump(date=day(world)), tmp_path)
    charsets = {str(a.PatientName): a.SpecificCharacterSet for a in answers}
    assert charsets["Müller^Jürgen"] == "ISO_IR 100"
    assert charsets["山田^太郎"] == charsets["Παπαδοπούλου^Ελένη"] == "ISO_IR 192"


def test_every_requested_key_comes_back_and_type_1_keys_are_filled(
    world: World, dicom_port: int, tmp_path: Path
) -> None:
    extra = "(0010,2110) LO  []\n(0010,21c0) US  \n(0038,0010) LO  []\n"
    answers, _ = findscu(dicom_port, query_dump(date=day(world), extra=extra), tmp_path)
    assert len(answers) == 6
    top = [
        "SpecificCharacterSet",
        "AccessionNumber",
        "ReferringPhysicianName",
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "Allergies",
        "PregnancyStatus",
        "StudyInstanceUID",
        "RequestedProcedureDescription",
        "AdmissionID",
        "ScheduledProcedureStepSequence",
        "RequestedProcedureID",
    ]
    item = [
        "Modality",
        "ScheduledStationAETitle",
        "ScheduledProcedureStepStartDate",
        "ScheduledProcedureStepStartTime",
        "ScheduledPerformingPhysicianName",
        "ScheduledProcedureStepDescription",
        "ScheduledProcedureStepID",
        "ScheduledStationName",
        "ScheduledProcedureStepLocation",
    ]
    for answer in answers:
        assert [e.keyword for e in answer] == top
        step = answer.ScheduledProcedureStepSequence[0]
        assert [e.keyword for e in step] == item
        for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "RequestedProcedureID"):
            assert str(answer[keyword].value), keyword
        for keyword in [*item[:4], "ScheduledProcedureStepDescription", "ScheduledProcedureStepID"]:
            assert str(step[keyword].value), keyword
    smith = next(a for a in answers if a.PatientID == "MRN-SMITH")
    assert (smith.Allergies, smith.PregnancyStatus) == ("Latex, Penicillin", 2)


def test_cancel_stops_the_answers(
    world: World, dicom_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bulk_steps(world, 400)
    slow_answers(monkeypatch)
    answers, log = findscu(dicom_port, query_dump(date=day(world)), tmp_path, "--cancel", "2")
    assert 2 <= len(answers) < 406
    assert "Cancel" in log


def test_an_identifier_with_two_steps_is_refused(
    world: World, dicom_port: int, tmp_path: Path
) -> None:
    answers, log = findscu(dicom_port, query_dump(second_step=True), tmp_path)
    assert answers == []
    assert "DataSetDoesNotMatchSOPClass" in log  # dcmtk's name for 0xA900
    answers, _ = findscu(dicom_port, query_dump(patient_id="MRN-YAMADA"), tmp_path)
    assert steps(world, answers) == {"yamada"}
