"""HL7 v2 inbound: every message is stored, then applied through the pages' services, then
answered (DESIGN.md, "Interoperability facts").

``hl7_receive`` is what the MLLP listener calls for each framed message:

1. Store. The raw bytes are committed in a transaction of their own (``Hl7Message``, direction
   ``in``, status ``received``) with the keys a tolerant first look finds (MSH-3/4/10, type,
   MRN, placer and accession numbers). The unique constraint ``hl7_inbound_once`` (MSH-3, MSH-4,
   MSH-10) makes a re-sent message collide here: it gets the stored ACK and changes nothing.
   A stored row still ``received`` (the process died between the two commits) is applied by
   the re-send, under the row's lock, so it is applied exactly once.
2. Apply, in a second transaction that locks the row, applies the message inside a savepoint
   and stores the outcome on the row (status, ACK, error, what changed). The ACK (AA) leaves
   only after this commit. A message RadFlow cannot take is kept as ``rejected`` (AE) or
   ``refused`` (AR): the dead-letter list, where a person fixes and replays it (``hl7_replay``).
   A database that is unavailable leaves the row ``received`` and answers AR: the sender's
   re-send applies it.

Senders: a message belongs to the active ``Hl7Interface`` whose MSH-3/MSH-4 match (a blank
setting matches anything; the most specific interface wins). A sender no interface names is
refused (AR) and kept: a hospital expects an unknown system to be turned away, visibly, rather
than its orders landing under some default. One interface with both settings blank is the
"accept anything" choice a department can make deliberately.

What each message does (``radflow.core.hl7.inbound`` reads it):

- ADT A01/A04/A05/A08 create the patient when the MRN is new and update the demographics sent
  otherwise (A08 too: an interface that went live after registration still gets its
  patients). RadFlow keeps no visit record: PV1's patient class is used for orders only.
  PID-3's other identifiers (types MR, PI, SS, DL, MB, PPN) are added when not yet recorded.
- ADT A40 merges MRG-1's patient into PID's (created from PID when RadFlow does not know it):
  ``patients.services.patient_merge`` keeps the merge history and moves the orders, and so
  their exams.
- ORM^O01, OMG^O19, OMI^O23: one order per ORC/OBR group. NW creates it (and the patient if
  new) with the interface's site, source HL7 and ``signed_order`` set when an ordering provider
  is named (an EHR sends orders its provider signed in CPOE); the exam type is the RadFlow exam
  code or the CPT code of OBR-4/OBR-44 (several exam types for one CPT code: the one whose name
  is OBR-4's text, else the one billed with that code alone). OMI's IPC-1 accession number and
  IPC-3 Study Instance UID replace RadFlow's own on the new exam (the sender is the order
  filler there, and the images must carry its numbers), as does a 2.3.1 ZDS-1 Study Instance
  UID (an EHR that assigns study UIDs, as Epic can); later IPCs change nothing. XO changes
  the fields sent, CA cancels, DC discontinues an exam in progress and cancels one not yet
  begun, SC is recorded without a change. An NW repeated with a new control ID for the same
  placer number and procedure changes nothing; for another procedure it is refused.
- ORU^R01: the report text of a completed exam (preliminary: reported; final: reported and
  signed), the radiologist from OBR-32 when a staff member matches.

Patients, orders and exams move only through their services, as ``hl7:<MSH-3>``; ``changes``
on the row lists what was done, by id and accession number, never by name.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.catalog.refdata import Cached, fresh
from radflow.core.errors import Conflict, NotFound, RadflowError, ValidationFailed
from radflow.core.exam_states import TRANSITIONS, ExamAction, ExamState
from radflow.core.hl7.ack import build_ack
from radflow.core.hl7.inbound import (
    Imaging,
    Inbound,
    MessageKind,
    OrderControl,
    OrderData,
    PatientData,
    Provider,
    ResultData,
    ResultStatus,
    Rules,
    read,
)
from radflow.core.hl7.parse import (
    AckCode,
    ErrorCode,
    Hl7Error,
    Location,
    Message,
    Peek,
    parse,
    peek,
    refused,
    rejected,
)
from radflow.exams import services as exam_services
from radflow.exams.models import Exam, ReasonCode, ReasonKind
from radflow.exams.services import Actor
from radflow.interfaces.models import (
    DEAD_LETTER,
    Hl7Direction,
    Hl7Interface,
    Hl7Message,
    Hl7Status,
)
from radflow.orders.models import Order, OrderPatientClass, OrderSource, Priority
from radflow.orders.services import order_create, order_update
from radflow.patients.languages import ISO_639_1
from radflow.patients.models import IdentifierType, Patient, PatientIdentifier
from radflow.patients.services import (
    identifier_add,
    patient_create,
    patient_merge,
    patient_update,
)
from radflow.staff.models import JobRole, StaffMember

logger = logging.getLogger("radflow.interfaces.hl7")

#: Tries of each transaction when the database is busy or the connection dropped (SQLite's own
#: busy timeout waits first; PostgreSQL may report a deadlock or a lost connection).
APPLY_ATTEMPTS = 5
#: How much of a message refused at the framing level is kept for the dead-letter list.
REFUSED_KEEP_BYTES = 64 * 1024
#: Cancel and discontinue reason codes when the placer's ORC-16 names none RadFlow knows.
CANCEL_FALLBACK = "referrer_withdrew"
HL7_CANCEL = ("hl7_placer_cancelled", "Cancelled by the ordering system (HL7)")
HL7_DISCONTINUE = ("hl7_placer_discontinued", "Discontinued by the ordering system (HL7)")
#: Exam states a cancel (CA, or DC before the exam began) applies to.
CANCELLABLE = TRANSITIONS[ExamAction.CANCEL].sources
_STATUS_FOR = {
    AckCode.ACCEPT: Hl7Status.APPLIED,
    AckCode.ERROR: Hl7Status.REJECTED,
    AckCode.REJECT: Hl7Status.REFUSED,
}


def _default_authority() -> str:
    return str(Patient._meta.get_field("mrn_authority").get_default())


# --- senders ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Catalog:
    """What every message reads and a person changes a few times a year, cached per process
    (``radflow.catalog.refdata``: reloaded as soon as any of it changes)."""

    #: The active interfaces, by name, with their sites.
    interfaces: tuple[Hl7Interface, ...]
    #: Every exam type by RadFlow code (inactive ones too: ``order_create`` says "no longer
    #: offered").
    by_code: dict[str, ExamType]
    #: Procedure code → the active exam types billed with it.
    billed_as: dict[str, tuple[ExamType, ...]]
    #: Exam type → all its procedure codes.
    codes_of: dict[Any, tuple[str, ...]]


def _load_catalog() -> _Catalog:
    interfaces = tuple(Hl7Interface.objects.filter(active=True).select_related("site"))
    types = {t.pk: t for t in ExamType.objects.all()}
    billed_as: dict[str, list[ExamType]] = {}
    codes_of: dict[Any, list[str]] = {}
    links = ExamType.procedure_codes.through.objects.values_list("examtype_id", "procedurecode_id")
    for type_pk, code in links:
        codes_of.setdefault(type_pk, []).append(code)
        if types[type_pk].active:
            billed_as.setdefault(code, []).append(types[type_pk])
    return _Catalog(
        interfaces=interfaces,
        by_code={t.code: t for t in types.values()},
        billed_as={code: tuple(found) for code, found in billed_as.items()},
        codes_of={pk: tuple(codes) for pk, codes in codes_of.items()},
    )


_CATALOG = Cached(_load_catalog)


def interface_for(
    *, sending_application: str, sending_facility: str, catalog: _Catalog | None = None
) -> Hl7Interface:
    """The active interface for MSH-3/MSH-4; ``NotFound`` says why none is."""
    matches: list[tuple[int, Hl7Interface]] = []
    for candidate in (catalog or _CATALOG.get()).interfaces:
        app = candidate.sending_application.strip()
        facility = candidate.sending_facility.strip()
        if app and app.casefold() != sending_application.casefold():
            continue
        if facility and facility.casefold() != sending_facility.casefold():
            continue
        matches.append((bool(app) + bool(facility), candidate))
    sender = f"{sending_application or '(blank)'}/{sending_facility or '(blank)'}"
    if not matches:
        raise NotFound(
            f"No active HL7 interface accepts messages from {sender} (MSH-3/MSH-4); add one "
            "on the interface settings page, then replay the message."
        )
    best = max(score for score, _ in matches)
    top = [i for score, i in matches if score == best]
    if len(top) > 1:
        names = ", ".join(sorted(i.name for i in top))
        raise NotFound(f"Several HL7 interfaces accept {sender} alike ({names}).")
    return fresh(top[0])


# --- the apply context --------------------------------------------------------------------------


@dataclass
class _Context:
    interface: Hl7Interface
    message: Message
    #: Exams move as this system actor (``hl7:EPIC``); patients and orders record ``by``.
    actor: Actor
    by: Any
    catalog: _Catalog
    changes: list[dict[str, str]] = field(default_factory=list)
    patient: Patient | None = None
    exam: Exam | None = None
    #: A patient that existed before this message: linked to the row even when it fails.
    known_patient: Patient | None = None

    def note(self, what: str, obj_id: Any, action: str, label: str) -> None:
        self.changes.append({"what": what, "id": str(obj_id), "action": action, "label": label})

    @property
    def sender(self) -> str:
        return self.message.sending_application or self.interface.name


def _short(pk: Any) -> str:
    return f"{str(pk)[:8].upper()}…"


def _text_of(error: RadflowError) -> str:
    if isinstance(error, ValidationFailed):
        parts = [f"{name}: {' '.join(messages)}" for name, messages in error.errors.items()]
        return "; ".join(parts) or error.message
    return error.message


@contextmanager
def _as_hl7(where: Callable[[str | None], Location]) -> Iterator[None]:
    """A service's refusal becomes AE with the location of the field it names."""
    try:
        yield
    except ValidationFailed as exc:
        raise rejected(_text_of(exc), ErrorCode.DATA_TYPE, where(exc.field)) from exc
    except NotFound as exc:
        raise rejected(exc.message, ErrorCode.UNKNOWN_KEY, where(exc.field)) from exc
    except RadflowError as exc:
        raise rejected(exc.message, ErrorCode.INTERNAL_ERROR, where(exc.field)) from exc


# --- patients -----------------------------------------------------------------------------------


def _authority(data: PatientData) -> str:
    return data.mrn_authority or _default_authority()


def _find_patient(mrn: str, authority: str) -> Patient | None:
    return Patient.objects.filter(mrn_authority=authority, mrn=mrn).first()


def _patient_where(data: PatientData) -> Callable[[str | None], Location]:
    return lambda name: data.at(name or "mrn")


def _usable(values: dict[str, Any]) -> dict[str, Any]:
    """Drop what RadFlow would refuse for a reason the sender cannot fix: an unknown language."""
    if "language" in values and values["language"] not in ISO_639_1:
        values.pop("language")
    return values


def _create_patient(data: PatientData, ctx: _Context) -> Patient | None:
    """The new patient, or None when a concurrent message created the MRN first."""
    missing = [
        name for name in ("family_name", "given_name", "birth_date") if not getattr(data, name)
    ]
    if missing:
        raise rejected(
            f"RadFlow does not know patient MRN {data.mrn} and cannot register them without "
            f"{', '.join(m.replace('_', ' ') for m in missing)}.",
            ErrorCode.REQUIRED_FIELD_MISSING,
            data.at(missing[0]),
        )
    values = _usable({k: v for k, v in data.sent().items() if v not in (None, "")})
    values.setdefault("sex", "U")
    try:
        with _as_hl7(_patient_where(data)):
            patient = patient_create(
                by=ctx.by, mrn=data.mrn, mrn_authority=_authority(data), **values
            )
    except Hl7Error as exc:
        clash = isinstance(exc.__cause__, ValidationFailed) and "mrn" in exc.__cause__.errors
        if clash and _find_patient(data.mrn, _authority(data)) is not None:
            return None  # created by a concurrent message between our look-up and our insert
        raise
    ctx.note("patient", patient.pk, "created", f"patient MRN {patient.mrn} created")
    return patient


def _update_patient(patient: Patient, data: PatientData, ctx: _Context) -> Patient:
    if not patient.active:
        raise rejected(
            f"Patient MRN {patient.mrn} was merged into another record; send changes for the "
            "surviving MRN.",
            ErrorCode.UNKNOWN_KEY,
            data.at("mrn"),
        )
    required = {"family_name", "given_name", "birth_date", "sex"}
    sent = _usable(data.sent())
    changes = {
        name: value
        for name, value in sent.items()
        if getattr(patient, name) != value and not (name in required and value == "")
    }
    if changes:
        with _as_hl7(_patient_where(data)):
            patient = patient_update(patient=patient, by=ctx.by, changes=changes)
        fields = ", ".join(sorted(changes))
        ctx.note("patient", patient.pk, "updated", f"patient MRN {patient.mrn} updated ({fields})")
    return patient


def _add_identifiers(patient: Patient, data: PatientData, ctx: _Context) -> None:
    for identifier in data.identifiers:
        if identifier.type not in IdentifierType.values or not identifier.authority:
            continue
        taken = PatientIdentifier.objects.filter(
            authority=identifier.authority, type=identifier.type, value=identifier.value
        ).exists()
        if taken:
            continue
        with _as_hl7(lambda name: data.at("mrn")):
            added = identifier_add(
                patient=patient,
                by=ctx.by,
                value=identifier.value,
                authority=identifier.authority,
                type=identifier.type,
            )
        ctx.note(
            "patient",
            patient.pk,
            "identifier added",
            f"patient MRN {patient.mrn}: {added.type} identifier of {added.authority} added",
        )


def _upsert_patient(data: PatientData, ctx: _Context, *, update: bool) -> Patient:
    patient = _find_patient(data.mrn, _authority(data))
    if patient is None:
        created = _create_patient(data, ctx)
        if created is not None:
            _add_identifiers(created, data, ctx)
            return created
        patient = Patient.objects.get(mrn_authority=_authority(data), mrn=data.mrn)
    ctx.known_patient = patient
    if update:
        patient = _update_patient(patient, data, ctx)
    if patient.active:
        _add_identifiers(patient, data, ctx)
    return patient


def _apply_patient(inbound: Inbound, ctx: _Context) -> None:
    ctx.patient = _upsert_patient(inbound.patient, ctx, update=True)


def _apply_merge(inbound: Inbound, ctx: _Context) -> None:
    data, merged_id = inbound.patient, inbound.merged
    if merged_id is None:  # pragma: no cover - read() requires MRG for A40
        raise rejected("ADT^A40 without MRG-1.", ErrorCode.SEGMENT_SEQUENCE, Location("MRG"))
    authority = merged_id.authority or _default_authority()
    merged = _find_patient(merged_id.value, authority)
    survivor = _find_patient(data.mrn, _authority(data))
    mrg = Location("MRG", 1, 1)
    if merged is None:
        raise rejected(
            f"Patient MRN {merged_id.value} ({authority}) named in MRG-1 is not known to RadFlow.",
            ErrorCode.UNKNOWN_KEY,
            mrg,
        )
    ctx.known_patient = survivor or merged
    if not merged.active:
        if survivor is not None and merged.merged_into_id == survivor.pk:
            ctx.patient = survivor
            ctx.note(
                "patient",
                merged.pk,
                "unchanged",
                f"patient MRN {merged.mrn} already merged into MRN {survivor.mrn}",
            )
            return
        raise rejected(
            f"Patient MRN {merged.mrn} was already merged into another record.",
            ErrorCode.DUPLICATE_KEY,
            mrg,
        )
    survivor = _upsert_patient(data, ctx, update=True)
    moved = list(Order.objects.filter(patient=merged).values_list("pk", flat=True))
    with _as_hl7(lambda name: mrg):
        patient_merge(
            surviving=survivor,
            merged=merged,
            by=ctx.by,
            source="hl7",
            reason=f"ADT^A40 from {ctx.sender}, message {ctx.message.control_id}",
        )
    ctx.patient = survivor
    ctx.note(
        "patient",
        merged.pk,
        "merged",
        f"patient MRN {merged.mrn} merged into MRN {survivor.mrn}",
    )
    for order_pk in moved:
        ctx.note(
            "order", order_pk, "moved", f"order {_short(order_pk)} moved to MRN {survivor.mrn}"
        )


# --- orders -------------------------------------------------------------------------------------


def _exam_type(order: OrderData, catalog: _Catalog) -> ExamType:
    """OBR-4/OBR-44's exam type: a RadFlow exam code, else a procedure (CPT) code."""
    ambiguous: list[str] = []
    for coded in order.procedures:
        own = catalog.by_code.get(coded.code.lower())
        if own is not None:
            return fresh(own)
        types = catalog.billed_as.get(coded.code, ())
        if len(types) == 1:
            return fresh(types[0])
        if types:
            named = [t for t in types if coded.text and t.name.casefold() == coded.text.casefold()]
            alone = [t for t in types if catalog.codes_of.get(t.pk) == (coded.code,)]
            for pick in (named, alone):
                if len(pick) == 1:
                    return fresh(pick[0])
            ambiguous.append(f"{coded.code} ({', '.join(sorted(t.code for t in types))})")
    where = order.at("exam_type")
    if ambiguous:
        raise rejected(
            f"Procedure code {'; '.join(ambiguous)} matches several exam types; send RadFlow's "
            "exam code or the exam type's name as the code's text.",
            ErrorCode.TABLE_VALUE_NOT_FOUND,
            where,
        )
    listed = ", ".join(f"{c.code} ({c.system or 'no system'})" for c in order.procedures)
    raise rejected(
        f"Unknown exam code {listed}: no RadFlow exam type or procedure code matches.",
        ErrorCode.TABLE_VALUE_NOT_FOUND,
        where,
    )


def _provider_fields(provider: Provider | None) -> dict[str, Any]:
    if provider is None:
        return {}
    values: dict[str, Any] = {"ordering_provider": provider.display}
    if provider.npi:
        values["ordering_provider_npi"] = provider.npi
    return values


def _order_fields(order: OrderData, inbound: Inbound) -> dict[str, Any]:
    """The order fields the message sends (``None``: not sent, left alone)."""
    values: dict[str, Any] = {}
    for name in ("clinical_indication", "ordering_phone", "ordering_location", "notes"):
        value = getattr(order, name)
        if value is not None:
            values[name] = value
    for name in ("requested_date", "lmp_date"):
        if getattr(order, name) is not None:
            values[name] = getattr(order, name)
    values.update(_provider_fields(order.ordering_provider))
    if order.priority is not None:
        values["priority"] = Priority(order.priority.value)
    if inbound.visit is not None:
        values["patient_class"] = OrderPatientClass(inbound.visit.patient_class)
    return values


def _patient_for_order(inbound: Inbound, ctx: _Context) -> Patient:
    data = inbound.patient
    # Orders of one patient are applied one message at a time (the placer-number check).
    patients = Patient.objects.select_for_update()
    patient = patients.filter(mrn_authority=_authority(data), mrn=data.mrn).first()
    if patient is None:
        if any(o.control is OrderControl.NEW for o in inbound.orders):
            return _upsert_patient(data, ctx, update=False)
        raise rejected(
            f"Patient MRN {data.mrn} ({_authority(data)}) is not known to RadFlow.",
            ErrorCode.UNKNOWN_KEY,
            data.at("mrn"),
        )
    if not patient.active and patient.merged_into_id is not None:
        patient = patients.get(pk=patient.merged_into_id)  # the old MRN still resolves
    ctx.known_patient = patient
    return patient


def _find_order(order: OrderData, patient: Patient) -> Order:
    if order.filler_number:
        exam = (
            Exam.objects.select_related("order")
            .filter(accession_number=order.filler_number)
            .first()
        )
        if exam is not None:
            if exam.order.patient_id != patient.pk:
                raise rejected(
                    f"Filler order number {order.filler_number} is an exam of another patient.",
                    ErrorCode.UNKNOWN_KEY,
                    Location(order.orc.segment, order.orc.sequence, 3),
                )
            return exam.order
    found = None
    if order.placer_number:
        found = (
            Order.objects.filter(patient=patient, placer_order_number=order.placer_number)
            .order_by("-received_at")
            .first()
        )
    if found is None:
        number = order.placer_number or order.filler_number
        raise rejected(
            f"Order {number} is not known to RadFlow for patient MRN {patient.mrn}.",
            ErrorCode.UNKNOWN_KEY,
            order.at("order"),
        )
    return found


def _adopt_identifiers(exam: Exam, imaging: Imaging, ctx: _Context) -> Exam:
    """OMI IPC-1/IPC-3 (or a 2.3.1 ZDS-1) replace the numbers RadFlow gave the exam it has just
    created."""
    updates: dict[str, str] = {}
    zds = imaging.segment.segment == "ZDS"
    for name, value, number in (
        ("accession_number", imaging.accession_number, 1),
        ("study_instance_uid", imaging.study_instance_uid, 1 if zds else 3),
    ):
        if not value or value == getattr(exam, name):
            continue
        if Exam.objects.filter(**{name: value}).exclude(pk=exam.pk).exists():
            raise rejected(
                f"{imaging.segment.segment}-{number} {value} is already another exam's "
                f"{name.replace('_', ' ')}.",
                ErrorCode.DUPLICATE_KEY,
                Location(imaging.segment.segment, imaging.segment.sequence, number),
            )
        updates[name] = value
    if updates:
        now = timezone.now()
        Exam.objects.filter(pk=exam.pk).update(**updates, updated_at=now)
        for name, value in updates.items():  # the row was created just now: no need to re-read
            setattr(exam, name, value)
        exam.updated_at = now
    return exam


def _new_order(order: OrderData, patient: Patient, inbound: Inbound, ctx: _Context) -> None:
    exam_type = _exam_type(order, ctx.catalog)
    same_placer = Order.objects.filter(patient=patient, placer_order_number=order.placer_number)
    # Nearly always none: ask for the key alone, and read the order only when there is one.
    found = same_placer.values_list("pk", flat=True).first()
    if found is not None:
        existing = Order.objects.select_related("exam_type", "exam").get(pk=found)
        if existing.exam_type_id != exam_type.pk:
            raise rejected(
                f"Placer order number {order.placer_number} is already a RadFlow order for "
                f"{existing.exam_type.code}; send XO to change it.",
                ErrorCode.DUPLICATE_KEY,
                order.at("placer_order_number"),
            )
        ctx.exam = existing.exam
        ctx.note(
            "order",
            existing.pk,
            "unchanged",
            f"order {_short(existing.pk)} exists already (exam {existing.exam.accession_number})",
        )
        return
    fields = _order_fields(order, inbound)
    fields.setdefault("priority", Priority.ROUTINE)
    if fields.get("ordering_provider"):
        fields["signed_order"] = True
    with _as_hl7(order.at):
        created = order_create(
            by=ctx.by,
            patient=patient,
            exam_type=exam_type,
            diagnosis_codes=order.diagnosis_codes or (),
            source=OrderSource.HL7,
            site=ctx.interface.site,
            placer_order_number=order.placer_number,
            **fields,
        )
    exam = created.exam
    if order.imaging is not None:
        exam = _adopt_identifiers(exam, order.imaging, ctx)
    ctx.exam = exam
    ctx.note(
        "order",
        created.pk,
        "created",
        f"order {_short(created.pk)} created (exam {exam.accession_number}, {exam_type.code})",
    )


def _change_order(order: OrderData, patient: Patient, inbound: Inbound, ctx: _Context) -> None:
    found = _find_order(order, patient)
    changes = _order_fields(order, inbound)
    if order.procedures:
        exam_type = _exam_type(order, ctx.catalog)
        if exam_type.pk != found.exam_type_id:
            changes["exam_type"] = exam_type
    changed = {name: value for name, value in changes.items() if getattr(found, name) != value}
    codes = order.diagnosis_codes
    current = list(found.diagnoses.values_list("code", flat=True))
    if codes is not None and list(codes) == current:
        codes = None
    ctx.exam = found.exam
    if not changed and codes is None:
        ctx.note("order", found.pk, "unchanged", f"order {_short(found.pk)}: nothing to change")
        return
    with _as_hl7(order.at):
        order_update(order=found, by=ctx.by, changes=changed, diagnosis_codes=codes)
    what = sorted(changed) + (["diagnosis_codes"] if codes is not None else [])
    ctx.note(
        "order",
        found.pk,
        "updated",
        f"order {_short(found.pk)} updated ({', '.join(what)})",
    )


def _reason_code(kind: ReasonKind, order: OrderData, fallback: tuple[str, str]) -> str:
    """ORC-16's code when RadFlow has it, else the department's or RadFlow's HL7 code."""
    active = ReasonCode.objects.filter(kind=kind, active=True)
    sent = order.control_reason.code if order.control_reason else ""
    if sent and active.filter(code=sent).exists():
        return sent
    if kind == ReasonKind.CANCEL and active.filter(code=CANCEL_FALLBACK).exists():
        return CANCEL_FALLBACK
    code, label = fallback
    ReasonCode.objects.get_or_create(kind=kind, code=code, defaults={"label": label})
    return code


def _reason_text(order: OrderData, ctx: _Context) -> str:
    said = ""
    if order.control_reason is not None:
        said = f": {order.control_reason.text or order.control_reason.code}"
    return f"ORC-1 {order.control} from {ctx.sender}{said}"


def _end_order(order: OrderData, patient: Patient, inbound: Inbound, ctx: _Context) -> None:
    """CA cancels; DC discontinues an exam in progress and cancels one not yet begun."""
    found = _find_order(order, patient)
    exam = Exam.objects.get(order=found)
    ctx.exam = exam
    state = exam.state_enum
    ended = {ExamState.CANCELLED} | (
        {ExamState.DISCONTINUED} if order.control is OrderControl.DISCONTINUE else set()
    )
    if state in ended:
        ctx.note("exam", exam.pk, "unchanged", f"exam {exam.accession_number} already {state}")
        return
    where = order.at
    if state in CANCELLABLE or order.control is OrderControl.CANCEL:
        with _as_hl7(where):
            exam = exam_services.exam_cancel(
                exam=exam,
                by=ctx.actor,
                reason_code=_reason_code(ReasonKind.CANCEL, order, HL7_CANCEL),
                reason=_reason_text(order, ctx),
            )
        ctx.note("exam", exam.pk, "cancelled", f"exam {exam.accession_number} cancelled")
    else:
        with _as_hl7(where):
            exam = exam_services.exam_discontinue(
                exam=exam,
                by=ctx.actor,
                reason_code=_reason_code(ReasonKind.DISCONTINUE, order, HL7_DISCONTINUE),
                reason=_reason_text(order, ctx),
            )
        ctx.note("exam", exam.pk, "discontinued", f"exam {exam.accession_number} discontinued")
    ctx.exam = exam


def _status_noted(order: OrderData, patient: Patient, inbound: Inbound, ctx: _Context) -> None:
    found = _find_order(order, patient)
    ctx.exam = found.exam
    status = order.order_status or "(none)"
    ctx.note(
        "order",
        found.pk,
        "status noted",
        f"order {_short(found.pk)}: placer status {status} noted, no change",
    )


_ORDER_ACTIONS: dict[OrderControl, Callable[[OrderData, Patient, Inbound, _Context], None]] = {
    OrderControl.NEW: _new_order,
    OrderControl.CHANGE: _change_order,
    OrderControl.CANCEL: _end_order,
    OrderControl.DISCONTINUE: _end_order,
    OrderControl.STATUS: _status_noted,
}


def _apply_orders(inbound: Inbound, ctx: _Context) -> None:
    patient = _patient_for_order(inbound, ctx)
    ctx.patient = patient
    for order in inbound.orders:
        _ORDER_ACTIONS[order.control](order, patient, inbound, ctx)


# --- results ------------------------------------------------------------------------------------


def _exam_for_result(result: ResultData, patient: Patient) -> Exam:
    for accession in result.accession_candidates:
        exam = Exam.objects.select_related("order").filter(accession_number=accession).first()
        if exam is not None:
            if exam.order.patient_id != patient.pk:
                raise rejected(
                    f"Exam {accession} is another patient's: the report's PID does not match.",
                    ErrorCode.UNKNOWN_KEY,
                    Location(result.obr.segment, result.obr.sequence, 3),
                )
            return exam
    exam = None
    if result.placer_number:
        exam = (
            Exam.objects.select_related("order")
            .filter(order__patient=patient, order__placer_order_number=result.placer_number)
            .order_by("-requested_at")
            .first()
        )
    if exam is None:
        numbers = ", ".join((*result.accession_candidates, result.placer_number)) or "none"
        raise rejected(
            f"No exam of patient MRN {patient.mrn} matches the report's order numbers ({numbers}).",
            ErrorCode.UNKNOWN_KEY,
            Location(result.obr.segment, result.obr.sequence, 3),
        )
    return exam


def _radiologist(provider: Provider | None) -> StaffMember | None:
    if provider is None:
        return None
    staff = StaffMember.objects.filter(active=True)
    if provider.id:
        found = staff.filter(employee_number=provider.id).first()
        if found is not None:
            return found
    if provider.family and provider.given:
        named = list(
            staff.filter(
                job_role=JobRole.RADIOLOGIST,
                family_name__iexact=provider.family,
                given_name__iexact=provider.given,
            )[:2]
        )
        if len(named) == 1:
            return named[0]
    return None


def _apply_result(result: ResultData, patient: Patient, ctx: _Context) -> None:
    exam = _exam_for_result(result, patient)
    ctx.exam = exam
    state = exam.state_enum
    radiologist = _radiologist(result.interpreter)
    where = Location(result.obr.segment, result.obr.sequence, 25)

    def same_text() -> bool:
        return exam.report_text.strip() == result.text.strip()

    if state in (ExamState.SIGNED, ExamState.BILLED) or (
        state is ExamState.REPORTED and result.status is ResultStatus.PRELIMINARY
    ):
        if same_text():
            ctx.note("exam", exam.pk, "unchanged", f"exam {exam.accession_number} already {state}")
            return
        raise rejected(
            f"Exam {exam.accession_number} is {state} with another report text; RadFlow does not "
            "replace a recorded report (no amendments): check it in RadFlow.",
            ErrorCode.INTERNAL_ERROR,
            where,
        )
    if state is ExamState.REPORTED and not same_text():
        raise rejected(
            f"Exam {exam.accession_number} holds a preliminary report with other text; RadFlow "
            "does not replace a recorded report, so this final report was not recorded: sign it "
            "in RadFlow after checking.",
            ErrorCode.INTERNAL_ERROR,
            where,
        )
    with _as_hl7(lambda name: where):
        if state is not ExamState.REPORTED:
            exam = exam_services.exam_report(
                exam=exam, by=ctx.actor, text=result.text, radiologist=radiologist
            )
            ctx.note("exam", exam.pk, "reported", f"exam {exam.accession_number} reported")
        if result.status is ResultStatus.FINAL:
            exam = exam_services.exam_sign(exam=exam, by=ctx.actor)
            ctx.note("exam", exam.pk, "signed", f"exam {exam.accession_number} signed")
    ctx.exam = exam


def _apply_results(inbound: Inbound, ctx: _Context) -> None:
    data = inbound.patient
    patient = _find_patient(data.mrn, _authority(data))
    if patient is None:
        raise rejected(
            f"Patient MRN {data.mrn} ({_authority(data)}) is not known to RadFlow.",
            ErrorCode.UNKNOWN_KEY,
            data.at("mrn"),
        )
    if not patient.active and patient.merged_into_id is not None:
        patient = Patient.objects.get(pk=patient.merged_into_id)
    ctx.patient = ctx.known_patient = patient
    for result in inbound.results:
        _apply_result(result, patient, ctx)


_APPLY: dict[MessageKind, Callable[[Inbound, _Context], None]] = {
    MessageKind.PATIENT: _apply_patient,
    MessageKind.MERGE: _apply_merge,
    MessageKind.ORDER: _apply_orders,
    MessageKind.RESULT: _apply_results,
}


# --- store, apply, answer -----------------------------------------------------------------------


class _Transient(Exception):
    """The database could not be used just now; the row stays ``received``."""


def _user(by: Any) -> Any:
    return by if getattr(by, "is_authenticated", False) else None


def _actor(sender: str, by: Any) -> Actor:
    label = f"hl7:{sender or '?'}"
    if _user(by) is not None:
        label = f"{label} replayed by {by.get_username()}"
    return Actor(label=label[:80])


def _row_for(raw: bytes, head: Peek, peer: str, **extra: Any) -> Hl7Message:
    return Hl7Message(
        direction=Hl7Direction.IN,
        status=Hl7Status.RECEIVED,
        peer=peer[:120],
        sending_application=head.sending_application[:180],
        sending_facility=head.sending_facility[:180],
        receiving_application=head.receiving_application[:180],
        receiving_facility=head.receiving_facility[:180],
        control_id=head.control_id[:64],
        message_type=head.type_label[:24],
        version=head.version[:12],
        charset=head.charset[:24],
        raw=raw,
        patient_mrn=head.mrn()[:64],
        accession_number=head.accession_number[:32],
        placer_order_number=head.placer_order_number[:64],
        received_at=timezone.now(),
        **extra,
    )


def _ack_id() -> str:
    return uuid.uuid4().hex[:20].upper()


def _error_text(error: Hl7Error) -> str:
    return f"{error.location}: {error.text}" if error.location else error.text


def _apply_locked(
    row: Hl7Message, *, by: Any = None, last_try: bool = True, head: Peek | None = None
) -> bytes:
    """Apply the locked ``received`` row in a savepoint and store the outcome on it (``head``:
    the row's ``peek``, when the caller has it)."""
    head = head or peek(bytes(row.raw))
    now = timezone.now()
    ctx: _Context | None = None
    error: Hl7Error | None = None
    interface: Hl7Interface | None = None
    try:
        message = parse(bytes(row.raw))
        with transaction.atomic():  # a savepoint: what fails is undone, the row is still saved
            catalog = _CATALOG.get()
            try:
                interface = interface_for(
                    sending_application=message.sending_application,
                    sending_facility=message.sending_facility,
                    catalog=catalog,
                )
            except NotFound as exc:
                raise refused(exc.message, ErrorCode.UNKNOWN_KEY, message.msh.at(3)) from None
            rules = Rules(interface.mrn_authority, interface.procedure_code_system)
            inbound = read(message, rules)
            row.patient_mrn = inbound.patient.mrn[:64]
            ctx = _Context(
                interface=interface,
                message=message,
                actor=_actor(message.sending_application or interface.name, by),
                by=_user(by),
                catalog=catalog,
            )
            _APPLY[inbound.kind](inbound, ctx)
    except Hl7Error as exc:
        error = exc
    except (OperationalError, InterfaceError) as exc:
        raise _Transient(type(exc).__name__) from exc
    except IntegrityError as exc:
        if not last_try:
            raise _Transient(type(exc).__name__) from exc
        error = rejected(
            "The message conflicts with data written at the same time; replay it.",
            ErrorCode.DUPLICATE_KEY,
        )
    except Exception as exc:  # a bug: the message is kept for a person, the listener lives on
        logger.error("HL7 message %s not applied: unexpected %s", row.pk, type(exc).__name__)
        error = rejected(
            "RadFlow could not apply this message (internal error); it is kept for a person "
            "to look at.",
            ErrorCode.INTERNAL_ERROR,
        )
    code = AckCode.ACCEPT if error is None else error.ack
    row.status = _STATUS_FOR[code]
    row.ack = build_ack(to=head, code=code, control_id=_ack_id(), at=now, error=error)
    row.ack_code = code.value
    row.error = _error_text(error) if error is not None else ""
    row.interface = interface
    if ctx is not None:
        row.changes = ctx.changes if error is None else []
        row.patient = ctx.patient if error is None else ctx.known_patient
        row.exam = ctx.exam if error is None else None
        if error is None and ctx.exam is not None:
            row.accession_number = ctx.exam.accession_number[:32]
    row.applied_at = now if error is None else None
    row.save(
        update_fields=[
            "status",
            "ack",
            "ack_code",
            "error",
            "interface",
            "changes",
            "patient",
            "exam",
            "patient_mrn",
            "accession_number",
            "applied_at",
            "updated_at",
        ]
    )
    detail = f" {int(error.code)} at {error.location}" if error and error.location else ""
    logger.info(
        "HL7 %s %s from %s/%s (row %s): %s%s",
        head.type_label or "?",
        head.control_id or "?",
        head.sending_application or "?",
        head.sending_facility or "?",
        row.pk,
        code.value,
        detail,
    )
    return bytes(row.ack)


def _pause(attempt: int) -> None:
    """Before trying again: a fresh connection if this one broke, then a growing, jittered wait
    (writers that collided do not collide again in step)."""
    if connection.connection is not None and not connection.is_usable():
        connection.close()
    time.sleep(0.05 * 2**attempt * (0.5 + random.random()))  # noqa: S311 - jitter, not secrets


def _temporary_refusal(head: Peek) -> bytes:
    error = refused(
        "RadFlow could not reach its database; the message is not applied yet. Send it again.",
        ErrorCode.INTERNAL_ERROR,
    )
    return build_ack(
        to=head, code=AckCode.REJECT, control_id=_ack_id(), at=timezone.now(), error=error
    )


def _apply_stored(stored: Hl7Message, head: Peek) -> bytes:
    """Apply the row ``hl7_receive`` has just stored, under its lock (a re-send of the same
    message may be applying it too: whoever locks it first applies it)."""
    pk = stored.pk
    for attempt in range(1, APPLY_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                rows = Hl7Message.objects.select_for_update()
                status = rows.values_list("status", flat=True).get(pk=pk)
                if status != Hl7Status.RECEIVED:
                    return _stored_ack(Hl7Message.objects.get(pk=pk))
                # The first try applies the row as stored (nothing but this lock's holder
                # changes a ``received`` row); a retry starts from the database's copy.
                row = stored if attempt == 1 else Hl7Message.objects.get(pk=pk)
                return _apply_locked(row, last_try=attempt == APPLY_ATTEMPTS, head=head)
        except (_Transient, OperationalError, InterfaceError) as exc:
            logger.warning("HL7 row %s: database busy or lost (%s), try %d", pk, exc, attempt)
            _pause(attempt)
    return _temporary_refusal(head)


def _stored_ack(row: Hl7Message) -> bytes:
    """What a re-send is answered: the stored ACK, or its successful replay's."""
    if row.status == Hl7Status.REPLAYED:
        replay = (
            Hl7Message.objects.filter(replay_of=row, status=Hl7Status.APPLIED)
            .order_by("-created_at")
            .first()
        )
        if replay is not None and replay.ack:
            return bytes(replay.ack)
    return bytes(row.ack or b"")


def _without_timestamp(raw: bytes) -> bytes:
    """The message with MSH-7 blanked: engines may restamp a message they send again."""
    body = raw.lstrip(b"\r\n\t ")
    end = min((i for i in (body.find(b"\r"), body.find(b"\n")) if i >= 0), default=len(body))
    header = body[:end]
    if len(header) < 4:
        return body
    parts = header.split(header[3:4])
    if len(parts) > 6:
        parts[6] = b""
    return header[3:4].join(parts) + body[end:]


def _again(raw: bytes, head: Peek, peer: str) -> bytes:
    """The same MSH-3/4/10 again: the stored ACK, after applying a row left ``received``."""
    for attempt in range(1, APPLY_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                row = (
                    Hl7Message.objects.select_for_update()
                    .filter(
                        direction=Hl7Direction.IN,
                        replay_of__isnull=True,
                        sending_application=head.sending_application[:180],
                        sending_facility=head.sending_facility[:180],
                        control_id=head.control_id[:64],
                    )
                    .first()
                )
                if row is None:  # deleted by retention since: store it as new
                    break
                if _without_timestamp(bytes(row.raw)) != _without_timestamp(raw):
                    logger.warning(
                        "HL7 control ID %s from %s/%s reused for another message (from %s)",
                        head.control_id,
                        head.sending_application,
                        head.sending_facility,
                        peer,
                    )
                    error = refused(
                        f"Message control ID {head.control_id} was used by another message "
                        "RadFlow received before; send this one with a new MSH-10.",
                        ErrorCode.DUPLICATE_KEY,
                        Location("MSH", 1, 10),
                    )
                    return build_ack(
                        to=head,
                        code=AckCode.REJECT,
                        control_id=_ack_id(),
                        at=timezone.now(),
                        error=error,
                    )
                if row.status == Hl7Status.RECEIVED:
                    return _apply_locked(row, last_try=attempt == APPLY_ATTEMPTS)
                logger.info("HL7 %s from %s: sent again, stored ACK", head.control_id, peer)
                return _stored_ack(row)
        except (_Transient, OperationalError, InterfaceError) as exc:
            logger.warning(
                "HL7 %s: database busy or lost (%s), try %d", head.control_id, exc, attempt
            )
            _pause(attempt)
    else:
        return _temporary_refusal(head)
    return hl7_receive(raw=raw, peer=peer)


def hl7_receive(*, raw: bytes, peer: str) -> bytes:
    """Store ``raw`` (one message, no MLLP framing), apply it, and return the ACK to send.

    Never raises: whatever happens, the sender gets an ACK. AA only once the changes are
    committed; AE/AR rows are on the dead-letter list; a database outage answers AR without a
    change, and the sender's re-send is applied then.
    """
    head = peek(raw)
    for attempt in range(1, APPLY_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                row = _row_for(raw, head, peer)
                row.save(force_insert=True)
            return _apply_stored(row, head)
        except IntegrityError:
            if not head.control_id:  # pragma: no cover - only the once-constraint can collide
                return _temporary_refusal(head)
            return _again(raw, head, peer)
        except (OperationalError, InterfaceError) as exc:
            logger.warning(
                "HL7 %s from %s not stored (%s), try %d", head.control_id, peer, exc, attempt
            )
            _pause(attempt)
    logger.error("HL7 %s from %s not stored: the database is unavailable", head.control_id, peer)
    return _temporary_refusal(head)


def hl7_refuse(*, raw: bytes, peer: str, reason: str) -> bytes:
    """A frame the listener could not take whole (truncated, too large, bytes outside a frame):
    kept as ``refused`` with ``reason`` (the first ``REFUSED_KEEP_BYTES`` only) and answered AR.

    Stored without its control ID, so the sender's complete re-send is not taken for this
    broken copy (the error text names the control ID instead).
    """
    head = peek(raw[:REFUSED_KEEP_BYTES])
    error = refused(reason, ErrorCode.SEGMENT_SEQUENCE)
    now = timezone.now()
    ack = build_ack(to=head, code=AckCode.REJECT, control_id=_ack_id(), at=now, error=error)
    named = f" (MSH-10 {head.control_id})" if head.control_id else ""
    try:
        with transaction.atomic():
            row = _row_for(raw[:REFUSED_KEEP_BYTES], head, peer)
            row.control_id = ""
            row.status = Hl7Status.REFUSED
            row.ack, row.ack_code = ack, AckCode.REJECT.value
            row.error = f"{reason}{named}"
            row.save(force_insert=True)
    except (OperationalError, InterfaceError) as exc:
        logger.error("HL7 refused frame from %s not stored: %s", peer, exc)
        connection.close()
    logger.info("HL7 frame from %s refused: %s", peer, reason)
    return ack


def hl7_replay(*, message: Hl7Message, raw: bytes | None, by: Any) -> Hl7Message:
    """Apply a dead-letter (or stuck ``received``) message again, as received or as edited.

    A new row points at the original (``replay_of``) and keeps its control ID; the original's
    bytes are never changed. When the replay is applied (AA) the original becomes
    ``replayed``, so it leaves the dead-letter list and a re-send of it gets the replay's ACK.
    Raises ``Conflict`` for a message that is not inbound or was applied already.
    """
    if message.direction != Hl7Direction.IN:
        raise Conflict("Only received messages are replayed; a sent one is resent.")
    body = bytes(message.raw) if raw is None else raw
    with transaction.atomic():
        original = Hl7Message.objects.select_for_update().get(pk=message.pk)
        if original.status not in (*DEAD_LETTER, Hl7Status.RECEIVED):
            raise Conflict(
                f"This message is {original.get_status_display().lower()}; only rejected, "
                "refused or unapplied messages are replayed.",
                field="status",
            )
        row = _row_for(body, peek(body), original.peer, replay_of=original)
        row.control_id = original.control_id
        row.replayed_by = _user(by)
        row.save(force_insert=True)
        try:
            _apply_locked(row, by=by)
        except _Transient:
            raise Conflict("The database is busy; replay the message again.") from None
        if row.status == Hl7Status.APPLIED:
            original.status = Hl7Status.REPLAYED
            original.save(update_fields=["status", "updated_at"])
    logger.info("HL7 message %s replayed as %s: %s", original.pk, row.pk, row.ack_code)
    message.refresh_from_db()
    return row
