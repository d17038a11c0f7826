"""Code systems and identifier namespaces the facade writes and reads.

Standard URIs where a standard exists (HL7 v2 tables, DICOM, CPT, ICD-10-CM, NPI); RadFlow's own
codes live under one base so a peer can tell them apart.
"""

from __future__ import annotations

BASE = "https://radflow.invalid/fhir"

#: RadFlow's code systems and identifier namespaces.
EXAM_TYPE = f"{BASE}/CodeSystem/exam-type"
JOB_ROLE = f"{BASE}/CodeSystem/job-role"
DEVICE_KIND = f"{BASE}/CodeSystem/device-kind"
EMPLOYEE_NUMBER = f"{BASE}/sid/employee-number"
SITE_CODE = f"{BASE}/sid/site-code"
ROOM_CODE = f"{BASE}/sid/room-code"
DEVICE_SERIAL = f"{BASE}/sid/device-serial"
AE_TITLE = f"{BASE}/sid/dicom-ae-title"
PLACER = f"{BASE}/sid/placer-order-number"
ACCESSION = f"{BASE}/sid/accession-number"
HOLD = f"{BASE}/sid/hold"
PATIENT_CLASS_EXTENSION = f"{BASE}/StructureDefinition/patient-class"

#: Standard ones.
V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
LOCATION_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
DICOM_UID = "urn:dicom:uid"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "urn:oid:2.16.840.1.113883.6.285"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
NPI = "http://hl7.org/fhir/sid/us-npi"
LANGUAGE = "urn:ietf:bcp:47"
SNOMED = "http://snomed.info/sct"
INTERPRETER_REQUIRED = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"

#: IHE ITI Scheduling's operation definitions and Appointment profile.
IHE_FIND = "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-find"
IHE_HOLD = "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-hold"
IHE_BOOK = "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-book"
IHE_APPOINTMENT = "https://profiles.ihe.net/ITI/Scheduling/StructureDefinition/ihe-sched-appt"


def authority_system(authority: str) -> str:
    """The identifier system of an assigning authority: a URI as it is, a bare name (an HL7
    CX-4 namespace such as ``RADFLOW``) under RadFlow's base."""
    if ":" in authority:
        return authority
    return f"{BASE}/sid/authority/{authority}"


def authority_of(system: str) -> str:
    """The assigning authority a system names (the inverse of ``authority_system``)."""
    prefix = f"{BASE}/sid/authority/"
    return system.removeprefix(prefix) if system.startswith(prefix) else system
