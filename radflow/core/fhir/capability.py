"""What the facade offers, as one table: the CapabilityStatement at ``/metadata`` and
docs/fhir.md are both read from it, so the two cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from radflow.core.fhir import systems

FHIR_VERSION = "4.0.1"
IHE_SCHEDULING_SERVER = (
    "https://profiles.ihe.net/ITI/Scheduling/CapabilityStatement/IHE.Scheduling.server"
)


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str
    documentation: str


@dataclass(frozen=True)
class Operation:
    name: str
    definition: str
    documentation: str


@dataclass(frozen=True)
class ResourceCapability:
    type: str
    documentation: str
    interactions: tuple[str, ...]
    search: tuple[SearchParam, ...]
    operations: tuple[Operation, ...] = ()


def _id(what: str) -> SearchParam:
    return SearchParam("_id", "token", f"The {what}'s id.")


READ_SEARCH = ("read", "search-type")

RESOURCES: tuple[ResourceCapability, ...] = (
    ResourceCapability(
        "Patient",
        "Patients as registered (MRN per assigning authority); a merged record links to the "
        "survivor. A search needs at least one criterion.",
        READ_SEARCH,
        (
            _id("patient"),
            SearchParam("identifier", "token", "MRN or other identifier: [system|]value."),
            SearchParam("family", "string", "Family name, from its start, any case."),
            SearchParam("given", "string", "Given or middle name, from its start."),
            SearchParam("name", "string", "Any part of the name, from its start."),
            SearchParam("birthdate", "date", "Date of birth (prefixes eq, ne, lt, le, gt, ge)."),
        ),
    ),
    ResourceCapability(
        "Practitioner",
        "Staff members: sonographers, technologists, radiologists and the rest of the team.",
        READ_SEARCH,
        (
            _id("practitioner"),
            SearchParam("identifier", "token", "Employee number."),
            SearchParam("name", "string", "Any part of the name, from its start."),
            SearchParam("family", "string", "Family name, from its start."),
            SearchParam("given", "string", "Given name, from its start."),
            SearchParam("active", "token", "true or false."),
        ),
    ),
    ResourceCapability(
        "PractitionerRole",
        "A staff member's job role, modalities and home site (one per staff member, same id).",
        READ_SEARCH,
        (
            _id("practitioner role"),
            SearchParam("practitioner", "reference", "Practitioner/[id]."),
            SearchParam("role", "token", "Job role code (sonographer, radiologist ...)."),
            SearchParam("location", "reference", "Location/[site id]: the home site."),
            SearchParam("active", "token", "true or false."),
        ),
    ),
    ResourceCapability(
        "Location",
        "Sites (physical type si) and their rooms (ro, partOf the site).",
        READ_SEARCH,
        (
            _id("location"),
            SearchParam("name", "string", "Name or code, from its start."),
            SearchParam("partof", "reference", "Location/[site id]: the site's rooms."),
        ),
    ),
    ResourceCapability(
        "HealthcareService",
        "One per modality (id = DICOM modality code), its exam types as service types.",
        READ_SEARCH,
        (
            _id("service"),
            SearchParam("name", "string", "Modality name, from its start."),
            SearchParam("service-type", "token", "An exam type code the modality offers."),
        ),
    ),
    ResourceCapability(
        "Device",
        "Scanners, ultrasound systems and workstations, in their rooms.",
        READ_SEARCH,
        (
            _id("device"),
            SearchParam("type", "token", "DICOM modality code (US, CT ...) or device kind."),
            SearchParam("location", "reference", "Location/[room id]."),
            SearchParam("identifier", "token", "Serial number or DICOM AE title."),
        ),
    ),
    ResourceCapability(
        "ServiceRequest",
        "Orders (referrals). Create and update go through the same service as the pages and "
        "HL7 orders; create opens the exam.",
        (*READ_SEARCH, "create", "update"),
        (
            _id("order"),
            SearchParam("patient", "reference", "Patient/[id]."),
            SearchParam("status", "token", "active, on-hold, completed, revoked."),
            SearchParam("identifier", "token", "Accession number or placer order number."),
            SearchParam("authored", "date", "When the order was received."),
            SearchParam("code", "token", "Exam type code or CPT code."),
        ),
    ),
    ResourceCapability(
        "Appointment",
        "An exam with a time: booked and later states; pending while a $hold keeps the slot.",
        READ_SEARCH,
        (
            _id("appointment (exam)"),
            SearchParam("date", "date", "Start time (prefixes; repeat for a range)."),
            SearchParam("patient", "reference", "Patient/[id]."),
            SearchParam("status", "token", "booked, arrived, fulfilled, cancelled, noshow."),
            SearchParam("location", "reference", "Location/[room or site id]."),
            SearchParam("actor", "reference", "Patient, Practitioner, Location or Device."),
            SearchParam("identifier", "token", "Accession number."),
            SearchParam("based-on", "reference", "ServiceRequest/[id]."),
        ),
        (
            Operation(
                "find",
                systems.IHE_FIND,
                "IHE ITI-115: proposed Appointments from the same slot search as the pages.",
            ),
            Operation("hold", systems.IHE_HOLD, "IHE ITI-116: keep a proposed slot (pending)."),
            Operation("book", systems.IHE_BOOK, "IHE ITI-117: book it (the board's service)."),
        ),
    ),
    ResourceCapability(
        "Schedule",
        "One per room (same id as the room's Location).",
        READ_SEARCH,
        (
            _id("schedule"),
            SearchParam("actor", "reference", "Location/[room id] or HealthcareService/[code]."),
            SearchParam("active", "token", "true or false."),
        ),
    ),
    ResourceCapability(
        "Slot",
        "Free and busy stretches of a room's day, from its opening hours and bookings.",
        READ_SEARCH,
        (
            SearchParam("schedule", "reference", "Schedule/[room id]."),
            SearchParam("start", "date", "Start (prefixes); at most 31 days per search."),
            SearchParam("status", "token", "free, busy, busy-tentative."),
        ),
    ),
    ResourceCapability(
        "ImagingStudy",
        "The exam's DICOM study (Study Instance UID) with the series the modality reported "
        "by MPPS; exists once the exam has begun.",
        READ_SEARCH,
        (
            _id("study (exam)"),
            SearchParam("patient", "reference", "Patient/[id]."),
            SearchParam("identifier", "token", "Accession number or urn:oid:[study UID]."),
            SearchParam("started", "date", "When the exam began."),
            SearchParam("status", "token", "registered, available, cancelled."),
            SearchParam("basedon", "reference", "ServiceRequest/[id]."),
        ),
    ),
)


def capability_statement(*, base_url: str, version: str, at: datetime) -> CapabilityStatement:
    return CapabilityStatement.model_validate(
        {
            "status": "active",
            "date": at,
            "kind": "instance",
            "publisher": "RadFlow",
            "instantiates": [IHE_SCHEDULING_SERVER],
            "software": {"name": "RadFlow", "version": version},
            "implementation": {"description": "RadFlow FHIR R4 facade", "url": base_url},
            "fhirVersion": FHIR_VERSION,
            "format": ["application/fhir+json", "json"],
            "rest": [
                {
                    "mode": "server",
                    "documentation": "Reads and searches are logged to the access log like pages.",
                    "security": {
                        "cors": False,
                        "description": (
                            "Authorization: Bearer <token> (an API token issued in RadFlow), "
                            "or the browser session. The caller's roles decide as on the "
                            "pages: 401 without credentials, 403 for a role without the right."
                        ),
                    },
                    "resource": [
                        {
                            "type": resource.type,
                            "documentation": resource.documentation,
                            "interaction": [{"code": code} for code in resource.interactions],
                            "versioning": "no-version",
                            "readHistory": False,
                            "updateCreate": False,
                            "searchParam": [
                                {"name": p.name, "type": p.type, "documentation": p.documentation}
                                for p in resource.search
                            ],
                            **(
                                {
                                    "operation": [
                                        {
                                            "name": op.name,
                                            "definition": op.definition,
                                            "documentation": op.documentation,
                                        }
                                        for op in resource.operations
                                    ]
                                }
                                if resource.operations
                                else {}
                            ),
                        }
                        for resource in RESOURCES
                    ],
                }
            ],
        }
    )
