"""What the golden HL7 messages (tests/fixtures/hl7) expect to find in RadFlow.

The EHR (``EPIC`` at ``RIVERBEND``) issues MRNs under authority ``RGH`` and sends CPT codes for
orders at the main hospital; the reporting system (``PSCRIBE``) sends results. The patient
of most messages is MRN 00451234; 00459999 is her duplicate registration (merged by A40).
Orders the messages cancel, discontinue or report on are made by ``order_for``/``exam_for``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.models import User

from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.interfaces.models import Hl7Interface
from radflow.interfaces.services_hl7_setup import hl7_interface_save
from radflow.patients.models import Patient
from radflow.patients.services import patient_create
from radflow.scheduling.models import Site
from radflow.staff.models import JobRole, StaffMember
from tests.exams.factories import make_exam
from tests.scheduling.factories import SiteFactory
from tests.staff.factories import StaffMemberFactory

AUTHORITY = "RGH"
MRN = "00451234"
DUPLICATE_MRN = "00459999"


@dataclass
class Hl7World:
    site: Site
    epic: Hl7Interface
    pscribe: Hl7Interface
    patient: Patient
    duplicate: Patient
    radiologist: StaffMember
    by: User


def build_hl7_world(by: User) -> Hl7World:
    """Needs the shipped reference data (the ``reference`` fixture)."""
    site = SiteFactory.create(code="MAIN", name="Riverbend General Hospital")
    epic = hl7_interface_save(
        name="EHR (Epic)",
        sending_application="EPIC",
        sending_facility="RIVERBEND",
        mrn_authority=AUTHORITY,
        procedure_code_system="CPT",
        site=site,
    )
    pscribe = hl7_interface_save(
        name="Reporting (PowerScribe)",
        sending_application="PSCRIBE",
        sending_facility="RIVERBEND",
        mrn_authority=AUTHORITY,
    )
    patient = patient_create(
        by=by,
        mrn=MRN,
        mrn_authority=AUTHORITY,
        family_name="HARTWELL",
        given_name="MARGARET",
        middle_name="ANN",
        prefix="MRS",
        birth_date=date(1968, 4, 12),
        sex="F",
        phone="(860)555-0143",
        email="m.hartwell@example.org",
        address_line="48 ELM STREET, APT 2B",
        city="HARTFORD",
        state="CT",
        postal_code="06105",
    )
    duplicate = patient_create(
        by=by,
        mrn=DUPLICATE_MRN,
        mrn_authority=AUTHORITY,
        family_name="HARTWELL",
        given_name="MARGARET",
        birth_date=date(1968, 4, 12),
        sex="F",
    )
    radiologist = StaffMemberFactory.create(
        employee_number="R-4471",
        family_name="Vance",
        given_name="Helen",
        job_role=JobRole.RADIOLOGIST,
        home_site=site,
    )
    return Hl7World(site, epic, pscribe, patient, duplicate, radiologist, by)


def exam_for(
    world: Hl7World,
    placer: str,
    state: ExamState = ExamState.REQUESTED,
    *,
    accession: str = "",
    patient: Patient | None = None,
    **order: Any,
) -> Exam:
    """An exam of the world's patient with the placer number a message names."""
    exam = make_exam(
        state, by=world.by, patient=patient or world.patient, placer_order_number=placer, **order
    )
    if accession:
        Exam.objects.filter(pk=exam.pk).update(accession_number=accession)
        exam.refresh_from_db()
    return exam


@dataclass(frozen=True)
class Ack:
    """An ACK as the sender reads it."""

    code: str
    acknowledges: str
    text: str
    error_location: str
    error_code: str
    version: str
    raw: bytes

    @classmethod
    def of(cls, raw: bytes) -> Ack:
        text = raw.decode("latin-1")
        segments = {line[:3]: line.split(text[3]) for line in text.split("\r") if line}
        msh, msa = segments["MSH"], segments["MSA"]
        err = segments.get("ERR", [])
        location, code = "", ""
        if len(err) > 3:  # 2.5: ERR-2 location, ERR-3 code
            location, code = err[2], err[3].split("^")[0]
        elif len(err) > 1:  # 2.3.1: ERR-1 segment^sequence^field^code&text&table
            parts = err[1].split("^")
            location, code = "^".join(p for p in parts[:3] if p), parts[3].split("&")[0]
        return cls(
            code=msa[1],
            acknowledges=msa[2] if len(msa) > 2 else "",
            text=msa[3] if len(msa) > 3 else "",
            error_location=location,
            error_code=code,
            version=msh[11],
            raw=raw,
        )
