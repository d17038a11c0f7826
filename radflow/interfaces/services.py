"""Writes of the interfaces app: what the modalities report (MPPS) and the DICOM AE registry.

MPPS (this part): every Modality Performed Procedure Step is stored first, exactly as far as it
was understood, and only then applied to its exam in a transaction of its own, so a step that
cannot be applied (no exam matches, the patient differs, the exam was cancelled) is kept for the
reconciliation page instead of being lost or refused: the scan happened either way. Exams move
only through ``radflow.exams.services`` (every move audited there) as ``mpps:<calling AE>``.

The AE registry part (below the ``AE registry`` line) keeps the registry and the policy for
unknown callers, which the server reads through ``dicom_policy.caller_decision``.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from radflow.core.dicom.mpps import (
    UNSPECIFIED_REASON,
    UNSPECIFIED_REASON_LABEL,
    MppsCreate,
    MppsRefused,
    MppsUpdate,
    PpsState,
    ScheduledStepRef,
    Status,
    check_update,
    discontinuation_reason,
    series_as_json,
)
from radflow.core.errors import Conflict, RadflowError, ValidationFailed
from radflow.core.exam_states import BEFORE_ARRIVAL, ExamState
from radflow.exams import services as exam_services
from radflow.exams.models import Exam, ReasonCode, ReasonKind
from radflow.exams.services import Actor
from radflow.interfaces.dicom_policy import policy_get
from radflow.interfaces.models import (
    ApplicationEntity,
    DicomPolicy,
    PerformedProcedureStep,
    PpsStatus,
    UnknownCallerPolicy,
)
from radflow.scheduling.models import Device, Modality, Room
from radflow.scheduling.services import full_clean_or_fail

mpps_logger = logging.getLogger("radflow.interfaces.mpps")

#: Exam states a modality's step cannot revive: the step waits for a person.
_ENDED_BEFORE_START = frozenset({ExamState.CANCELLED, ExamState.NO_SHOW})
#: States in which the exam was performed and finished: a later step adds nothing to move.
_DONE = frozenset({ExamState.COMPLETED, ExamState.REPORTED, ExamState.SIGNED, ExamState.BILLED})

APPLY_ERROR_MAX = 500


def mpps_actor(calling_ae: str, by: Any = None) -> Actor:
    """``mpps:<AE>``; a coordinator who links a step by hand is named after it."""
    label = f"mpps:{calling_ae}"
    if by is not None and getattr(by, "is_authenticated", False):
        label = f"{label} linked by {by.get_username()}"
    return Actor(label=label[:80])


# --- matching ---------------------------------------------------------------------------------


def _refs_of(step: PerformedProcedureStep) -> tuple[ScheduledStepRef, ...]:
    return (
        ScheduledStepRef(
            study_instance_uid=step.study_instance_uid,
            accession_number=step.accession_number,
            sps_id=step.sps_id,
        ),
    )


def _match(refs: Sequence[ScheduledStepRef]) -> Exam | None:
    """The exam a step was for: by accession number, then Study Instance UID, then the
    scheduled step's ID (RadFlow's worklist gives the accession number as the requested
    procedure and step IDs). The first reference that finds an exam wins."""
    exams = Exam.objects.select_related("order", "order__patient")
    for field, key in (
        ("accession_number", "accession_number"),
        ("study_instance_uid", "study_instance_uid"),
        ("accession_number", "sps_id"),
        ("accession_number", "requested_procedure_id"),
    ):
        for ref in refs:
            value = str(getattr(ref, key))
            if value:
                exam = exams.filter(**{field: value}).first()
                if exam is not None:
                    return exam
    return None


def _patient_differs(step: PerformedProcedureStep, exam: Exam) -> bool:
    """A Patient ID that is not the exam's patient's MRN: the wrong patient may be on the
    table, so nothing is applied until a person looks."""
    sent = step.patient_id.strip()
    return bool(sent) and sent.casefold() != exam.order.patient.mrn.strip().casefold()


# --- applying a step to its exam --------------------------------------------------------------


def _clamp(exam: Exam, at: datetime | None) -> datetime:
    """The modality's clock is not this server's: an event time is held within
    [the exam's last change, now] so a few seconds of skew do not refuse a real event."""
    now = timezone.now()
    return min(max(at or now, exam.state_changed_at), now)


def _station_room(calling_ae: str) -> Any:
    from radflow.interfaces.models import ApplicationEntity

    ae = ApplicationEntity.objects.filter(ae_title=calling_ae).select_related("room").first()
    return ae.room if ae is not None else None


def _discontinue_code(code: str) -> str:
    """An active discontinue reason code for ``code``; the "unspecified at the modality" code
    is added to the department's list the first time a modality needs it."""
    if ReasonCode.objects.filter(kind=ReasonKind.DISCONTINUE, code=code, active=True).exists():
        return code
    ReasonCode.objects.get_or_create(
        kind=ReasonKind.DISCONTINUE,
        code=UNSPECIFIED_REASON,
        defaults={"label": UNSPECIFIED_REASON_LABEL},
    )
    return UNSPECIFIED_REASON


def _step_details(step: PerformedProcedureStep) -> dict[str, Any]:
    return {"mpps": step.sop_instance_uid, "calling_ae": step.calling_ae}


def _apply_step(step: PerformedProcedureStep, actor: Actor) -> None:
    """Bring the step's exam (locked here) to what the step says; raises ``RadflowError``
    when the exam cannot be moved, and the caller's transaction rolls back."""
    if step.exam_id is None:  # pragma: no cover - callers link the exam first
        raise Conflict("The step has no exam to apply to.", field="exam")
    exam = Exam.objects.select_for_update().get(pk=step.exam_id)
    state = exam.state_enum
    if state in _ENDED_BEFORE_START:
        raise Conflict(
            f"Exam {exam.accession_number} is {state.label.lower()} in RadFlow; the modality "
            "performed it anyway. Link the step to the right exam or create an order.",
            field="exam",
        )
    if state in BEFORE_ARRIVAL or state is ExamState.ARRIVED:
        begun = exam_services.exam_begin_at_modality(
            exam=exam,
            by=actor,
            at=step.started_at,
            room=_station_room(step.calling_ae),
            details=_step_details(step),
        )
        exam = begun.exam
        step.missing = [{"code": s.code, "detail": s.detail} for s in begun.missing]
        step.flagged = bool(begun.missing)
    target = PpsState(step.status)
    state = exam.state_enum
    if target is PpsState.IN_PROGRESS or state is not ExamState.IN_PROGRESS:
        if state is ExamState.DISCONTINUED and target is PpsState.COMPLETED:
            raise Conflict(
                f"Exam {exam.accession_number} was discontinued; this step reports it completed.",
                field="exam",
            )
        return  # begun, or finished already (by a person, or another step of the exam)
    at = _clamp(exam, step.ended_at)
    details = _step_details(step)
    if at != step.ended_at and step.ended_at is not None:
        details["reported_at"] = step.ended_at.isoformat()
    if target is PpsState.COMPLETED:
        steps = PerformedProcedureStep.objects.filter(exam=exam, status=PpsStatus.COMPLETED)
        images = sum(steps.exclude(pk=step.pk).values_list("images_count", flat=True))
        images += step.images_count
        details.update(series=len(step.performed_series), images=step.images_count)
        exam_services.exam_complete(
            exam=exam, by=actor, at=at, images_count=images, details=details
        )
        return
    others = (
        PerformedProcedureStep.objects.filter(exam=exam)
        .exclude(pk=step.pk)
        .exclude(status=PpsStatus.DISCONTINUED)
    )
    if others.exists():
        return  # another step of this exam is running or done: only this one stopped
    code, text = step.discontinuation_code, step.discontinuation_reason
    if not code:
        code, text = discontinuation_reason(None)
    exam_services.exam_discontinue(
        exam=exam,
        by=actor,
        reason_code=_discontinue_code(code),
        reason=text,
        at=at,
        details=details,
    )


def _apply_recorded(step_pk: Any, actor: Actor, refs: Sequence[ScheduledStepRef] = ()) -> None:
    """Match (when not matched yet) and apply in a transaction of its own; what could not be
    done is written on the step for the reconciliation page, never raised to the modality."""
    matched: Exam | None = None
    try:
        with transaction.atomic():
            step = PerformedProcedureStep.objects.select_for_update().get(pk=step_pk)
            if step.exam_id is None:
                matched = _match(refs or _refs_of(step))
                if matched is None:
                    _save_error(step, "")
                    return
                if _patient_differs(step, matched):
                    _save_error(
                        step,
                        f"Matched exam {matched.accession_number}, but the modality's Patient "
                        "ID is not that patient's MRN: check who was scanned and link by hand.",
                    )
                    return
                step.exam = matched
            _apply_step(step, actor)
            step.apply_error = ""
            step.save(update_fields=["exam", "missing", "flagged", "apply_error", "updated_at"])
    except RadflowError as exc:
        mpps_logger.warning("MPPS %s not applied: %s", step_pk, exc.code)
        _record_failure(step_pk, matched, exc.message)
    except Exception as exc:  # a bug: the step is stored, the modality is not to blame
        mpps_logger.error("MPPS %s not applied: unexpected %s", step_pk, type(exc).__name__)
        _record_failure(step_pk, matched, "RadFlow could not apply this step (internal error).")


def _record_failure(step_pk: Any, matched: Exam | None, message: str) -> None:
    with transaction.atomic():
        step = PerformedProcedureStep.objects.select_for_update().get(pk=step_pk)
        if step.exam_id is None and matched is not None:
            step.exam = matched  # shown with its exam on the reconciliation page
        _save_error(step, message)


def _save_error(step: PerformedProcedureStep, message: str) -> None:
    step.apply_error = message[:APPLY_ERROR_MAX]
    step.save(update_fields=["exam", "apply_error", "updated_at"])


# --- what the modality sends ------------------------------------------------------------------


def _birth_date_text(value: date | None) -> str:
    return value.strftime("%Y%m%d") if value else ""


def mpps_create(
    *,
    sop_instance_uid: str,
    calling_ae: str,
    create: MppsCreate,
    attributes: Mapping[str, Any],
) -> PerformedProcedureStep:
    """N-CREATE: store the step (``0x0111`` if the SOP instance exists), then apply it.

    The exam moves to ``in_progress`` through ``exam_begin_at_modality``: when intake hard
    stops are unmet the step is still accepted, and the step keeps them (``missing``,
    ``flagged``) for the coordinator. A step matching no exam is kept unmatched.
    """
    first = create.refs[0]
    step = PerformedProcedureStep(
        sop_instance_uid=sop_instance_uid,
        calling_ae=calling_ae[:16],
        status=PpsStatus.IN_PROGRESS,
        accession_number=first.accession_number,
        study_instance_uid=first.study_instance_uid,
        sps_id=first.sps_id,
        patient_id=create.patient_id,
        patient_name=create.patient_name,
        patient_birth_date=_birth_date_text(create.patient_birth_date),
        modality=create.modality,
        procedure_description=(create.description or first.sps_description)[:200],
        station_name=create.station_name,
        started_at=create.started_at,
        ended_at=create.ended_at,
        performed_series=series_as_json(create.series, create.modality),
        images_count=create.images,
        attributes=dict(attributes),
    )
    try:
        with transaction.atomic():
            if PerformedProcedureStep.objects.filter(sop_instance_uid=sop_instance_uid).exists():
                raise IntegrityError("duplicate SOP instance")
            step.save()
    except IntegrityError:
        raise MppsRefused(
            Status.DUPLICATE_SOP_INSTANCE, "Duplicate SOP Instance: this MPPS exists already"
        ) from None
    _apply_recorded(step.pk, mpps_actor(calling_ae), create.refs)
    step.refresh_from_db()
    mpps_logger.info(
        "MPPS %s created by %s: %s, exam %s",
        sop_instance_uid,
        calling_ae,
        step.status,
        step.exam.accession_number if step.exam else "unmatched",
    )
    return step


def mpps_set(
    *,
    sop_instance_uid: str,
    calling_ae: str,
    update: MppsUpdate,
    attributes: Mapping[str, Any],
) -> PerformedProcedureStep:
    """N-SET: update a step still IN PROGRESS (else ``0x0110``; unknown: ``0x0112``), store
    it, then apply it: COMPLETED completes the exam with its series, image count and end;
    DISCONTINUED discontinues it with the modality's reason. Unmatched steps are stored too
    (and matched again, in case the exam exists now)."""
    with transaction.atomic():
        step = (
            PerformedProcedureStep.objects.select_for_update()
            .filter(sop_instance_uid=sop_instance_uid)
            .first()
        )
        if step is None:
            raise MppsRefused(
                Status.NO_SUCH_OBJECT_INSTANCE, "No such SOP Instance: N-CREATE it first"
            )
        step.ended_at = check_update(
            current=step.status,
            update=update,
            started_at=step.started_at,
            ended_at=step.ended_at,
        )
        if update.status is not None:
            step.status = update.status.value
        if update.description is not None:
            step.procedure_description = update.description[:200]
        if update.series is not None:
            step.performed_series = series_as_json(update.series, step.modality)
            step.images_count = sum(s.images for s in update.series)
        if update.discontinuation_sent or update.status is PpsState.DISCONTINUED:
            code, text = discontinuation_reason(update.discontinuation)
            step.discontinuation_code, step.discontinuation_reason = code, text[:200]
        stored = step.attributes if isinstance(step.attributes, dict) else {}
        step.attributes = {**stored, **attributes}
        step.save()
    if calling_ae != step.calling_ae:
        mpps_logger.warning(
            "MPPS %s updated by %s, created by %s", step.pk, calling_ae, step.calling_ae
        )
    _apply_recorded(step.pk, mpps_actor(step.calling_ae))
    step.refresh_from_db()
    mpps_logger.info(
        "MPPS %s set by %s: %s, exam %s",
        sop_instance_uid,
        calling_ae,
        step.status,
        step.exam.accession_number if step.exam else "unmatched",
    )
    return step


# --- what the coordinator does on the reconciliation page --------------------------------------


def _lock_open_step(step: PerformedProcedureStep) -> PerformedProcedureStep:
    locked = PerformedProcedureStep.objects.select_for_update().get(pk=step.pk)
    if locked.exam_id is not None and not locked.apply_error:
        raise Conflict(
            "This step is already applied to an exam; nothing is left to reconcile.",
            field="step",
            code="mpps_reconciled",
        )
    return locked


def _link(step: PerformedProcedureStep, exam: Exam, by: Any) -> PerformedProcedureStep:
    step.exam = exam
    step.linked_at = timezone.now()
    step.linked_by = by
    _apply_step(step, mpps_actor(step.calling_ae, by))
    step.apply_error = ""
    step.save()
    return step


@transaction.atomic
def mpps_link(*, step: PerformedProcedureStep, exam: Exam, by: Any) -> PerformedProcedureStep:
    """Link an unmatched (or failed) step to ``exam`` and apply what the step says to it: the
    exam is begun (arrived first if need be), completed or discontinued as the modality
    reported. Refused, nothing changes."""
    step = _lock_open_step(step)
    return _link(step, exam, by)


def _split_pn(name: str) -> tuple[str, str, str]:
    """(family, given, middle) from a DICOM PN's alphabetic group."""
    parts = [p.strip() for p in name.split("=")[0].split("^")]
    parts += [""] * (3 - len(parts))
    return parts[0], parts[1], parts[2]


def _attr(step: PerformedProcedureStep, keyword_tag: str) -> str:
    element = step.attributes.get(keyword_tag) if isinstance(step.attributes, dict) else None
    values = element.get("Value") if isinstance(element, dict) else None
    return str(values[0]) if isinstance(values, list) and values else ""


def _patient_for(step: PerformedProcedureStep, by: Any) -> Any:
    """The patient the modality named, by MRN; registered from its demographics if unknown."""
    from radflow.patients.models import Patient
    from radflow.patients.services import patient_create

    mrn = step.patient_id.strip()
    if not mrn:
        raise ValidationFailed(
            {"patient": ["The modality sent no Patient ID; register the patient, then link."]}
        )
    found = list(Patient.objects.filter(mrn=mrn, active=True)[:2])
    if len(found) > 1:
        raise Conflict(
            f"More than one patient has MRN {mrn}; register the order on the right patient "
            "and link the step to it.",
            field="patient",
        )
    if found:
        return found[0]
    family, given, middle = _split_pn(step.patient_name)
    birth = step.patient_birth_date
    if len(birth) != 8 or not birth.isdigit():
        raise ValidationFailed(
            {"patient": ["The modality sent no birth date; register the patient first."]}
        )
    sex = _attr(step, "00100040")
    return patient_create(
        by=by,
        mrn=mrn,
        family_name=family,
        given_name=given,
        middle_name=middle,
        birth_date=date(int(birth[:4]), int(birth[4:6]), int(birth[6:])),
        sex=sex if sex in ("F", "M", "O") else "U",
    )


@transaction.atomic
def mpps_create_order(
    *,
    step: PerformedProcedureStep,
    by: Any,
    exam_type: Any,
    priority: str = "routine",
) -> PerformedProcedureStep:
    """An unscheduled patient scanned at the console: order the exam the modality performed
    (received when the scan started), for the patient it named (found by MRN, or registered
    from the step's demographics), and link the step to it. The order is incomplete until
    someone adds the referral's details; the exam follows the step."""
    from radflow.orders.services import order_create

    step = _lock_open_step(step)
    if step.exam_id is not None:
        raise Conflict(
            "This step matched an exam already; link it to that exam or another instead.",
            field="step",
        )
    patient = _patient_for(step, by)
    received = min(step.started_at or timezone.now(), timezone.now())
    order = order_create(
        by=by,
        patient=patient,
        exam_type=exam_type,
        priority=priority,
        received_at=received,
        notes=(
            f"Performed unscheduled at {step.calling_ae} (MPPS {step.sop_instance_uid}); "
            "order created from the reconciliation page."
        )[:1000],
    )
    return _link(step, order.exam, by)


@transaction.atomic
def mpps_flag_clear(*, step: PerformedProcedureStep, by: Any, note: str) -> PerformedProcedureStep:
    """The coordinator has dealt with the stops that were unmet when the modality began the
    exam: the warning leaves the board and the page; the note says what was done."""
    locked = PerformedProcedureStep.objects.select_for_update().get(pk=step.pk)
    if not locked.flagged:
        raise Conflict("This step is not flagged.", field="step", code="mpps_not_flagged")
    note = note.strip()
    if not note:
        raise ValidationFailed({"note": ["Say what was done about the unmet requirements."]})
    now = timezone.now()
    locked.flagged = False
    locked.flag_cleared_at = now
    locked.flag_cleared_by = by
    locked.flag_cleared_note = note
    locked.save(
        update_fields=[
            "flagged",
            "flag_cleared_at",
            "flag_cleared_by",
            "flag_cleared_note",
            "updated_at",
        ]
    )
    # The board redraws when one of its exams changes: the warning goes with this stamp.
    if locked.exam_id is not None:
        Exam.objects.filter(pk=locked.exam_id).update(updated_at=now)
    return locked


# --- AE registry ---
# Writes to the DICOM AE registry and to the policy for unknown callers (registry part of issue 6;
# the MPPS services go above this line). The server reads both through
# ``radflow.interfaces.dicom_policy.caller_decision``; nothing here holds PHI.

registry_logger = logging.getLogger("radflow.interfaces.registry")


def _registry_user(by: Any) -> Any:
    return by if getattr(by, "is_authenticated", False) else None


def _ae_fill_and_check(
    ae: ApplicationEntity,
    *,
    ae_title: str,
    host: str,
    port: int | None,
    station_name: str,
    modality: Modality | None,
    room: Room | None,
    device: Device | None,
    description: str,
    restrict_to_room: bool,
    restrict_to_modality: bool,
    may_send_mpps: bool,
    active: bool,
) -> None:
    """Set the fields of ``ae``, or refuse with every reason at once and change nothing.

    A linked device fills in what was left empty (its room, modality and station name); what
    was given must agree with the device and the room: a station restricted to "its room" must
    be in that room, or its worklist would show another room's patients.
    """
    title = ae_title.strip()
    host = host.strip()
    station_name = station_name.strip()
    if device is not None:
        room = room if room is not None else device.room
        modality = modality if modality is not None else device.modality
        station_name = station_name or device.station_name
    if modality is None and room is not None:
        modality = room.modality
    errors: dict[str, list[str]] = {}

    def refuse(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not title:
        refuse("ae_title", "Give the AE title the modality calls with (its calling AE title).")
    elif title == settings.DICOM_AE_TITLE:
        refuse("ae_title", f"{title} is this server's own AE title; a modality needs its own.")
    else:
        # AE titles are case-sensitive on the wire, but two that differ only in case are a
        # typo waiting to happen at the console.
        taken = ApplicationEntity.objects.filter(ae_title__iexact=title)
        if ae.pk is not None and not ae._state.adding:
            taken = taken.exclude(pk=ae.pk)
        other = taken.first()
        if other is not None:
            refuse("ae_title", f"The AE title {other.ae_title} is already registered.")
    if host:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            refuse(
                "host",
                f"{host} is not an IP address. Give the modality's IP address (host names are "
                "not looked up), or leave it empty to accept this AE from any address.",
            )
    if port is not None and not 1 <= port <= 65535:
        refuse("port", "A port is a number from 1 to 65535.")
    if station_name and ("\\" in station_name or not station_name.isprintable()):
        refuse("station_name", "A station name has no backslash and no control characters.")
    if device is not None:
        if device.ae_title and title and device.ae_title != title:
            refuse(
                "device",
                f"Device {device} is set up with AE title {device.ae_title}; register it under "
                "that title, or leave the device out.",
            )
        if device.room is not None and room is not None and device.room.pk != room.pk:
            refuse(
                "room", f"Device {device} stands in room {device.room.code}, not in {room.code}."
            )
        if modality is not None and device.modality_id != modality.code:
            refuse(
                "modality",
                f"Device {device} is a {device.modality_id} device, not {modality.code}.",
            )
    if room is not None and modality is not None and room.modality_id != modality.code:
        refuse("room", f"Room {room.code} is a {room.modality_id} room, not {modality.code}.")
    if restrict_to_room and room is None:
        refuse("restrict_to_room", "Choose the room (or a device placed in one) to restrict to.")
    if restrict_to_modality and modality is None:
        refuse("restrict_to_modality", "Choose the modality (or a device) to restrict to.")
    if errors:
        raise ValidationFailed(errors)
    ae.ae_title = title
    ae.host = host
    ae.port = port
    ae.station_name = station_name
    ae.modality = modality
    ae.room = room
    ae.device = device
    ae.description = description.strip()
    ae.restrict_to_room = restrict_to_room
    ae.restrict_to_modality = restrict_to_modality
    ae.may_send_mpps = may_send_mpps
    ae.active = active
    full_clean_or_fail(ae)


@transaction.atomic
def ae_create(
    *,
    ae_title: str,
    by: Any = None,
    host: str = "",
    port: int | None = None,
    station_name: str = "",
    modality: Modality | None = None,
    room: Room | None = None,
    device: Device | None = None,
    description: str = "",
    restrict_to_room: bool = False,
    restrict_to_modality: bool = False,
    may_send_mpps: bool = True,
    active: bool = True,
) -> ApplicationEntity:
    """Register a modality (or workstation) by the AE title it calls RadFlow with."""
    ae = ApplicationEntity()
    _ae_fill_and_check(
        ae,
        ae_title=ae_title,
        host=host,
        port=port,
        station_name=station_name,
        modality=modality,
        room=room,
        device=device,
        description=description,
        restrict_to_room=restrict_to_room,
        restrict_to_modality=restrict_to_modality,
        may_send_mpps=may_send_mpps,
        active=active,
    )
    ae.save()
    registry_logger.info("AE %s registered by user %s", ae.ae_title, getattr(by, "pk", None))
    return ae


@transaction.atomic
def ae_update(
    *,
    ae: ApplicationEntity,
    ae_title: str,
    by: Any = None,
    host: str = "",
    port: int | None = None,
    station_name: str = "",
    modality: Modality | None = None,
    room: Room | None = None,
    device: Device | None = None,
    description: str = "",
    restrict_to_room: bool = False,
    restrict_to_modality: bool = False,
    may_send_mpps: bool = True,
    active: bool = True,
) -> ApplicationEntity:
    """Change a registered AE; every field is given (the edit form shows them all).

    The row is locked first, so two people saving the same AE serialise; a refused change
    leaves the row as it was (the caller's object included).
    """
    locked = ApplicationEntity.objects.select_for_update().get(pk=ae.pk)
    _ae_fill_and_check(
        locked,
        ae_title=ae_title,
        host=host,
        port=port,
        station_name=station_name,
        modality=modality,
        room=room,
        device=device,
        description=description,
        restrict_to_room=restrict_to_room,
        restrict_to_modality=restrict_to_modality,
        may_send_mpps=may_send_mpps,
        active=active,
    )
    locked.save()
    registry_logger.info("AE %s changed by user %s", locked.ae_title, getattr(by, "pk", None))
    return locked


@transaction.atomic
def ae_deactivate(*, ae: ApplicationEntity, by: Any = None) -> ApplicationEntity:
    """Stop accepting associations from this AE; its row (and last-seen time) stays on record.

    An inactive AE is rejected even when unknown callers are let in read-only: the department
    took it out of service on purpose.
    """
    locked = ApplicationEntity.objects.select_for_update().get(pk=ae.pk)
    if not locked.active:
        raise Conflict(
            f"{locked.ae_title} is already inactive.", field="active", code="ae_inactive"
        )
    locked.active = False
    locked.save(update_fields=["active", "updated_at"])
    registry_logger.info("AE %s deactivated by user %s", locked.ae_title, getattr(by, "pk", None))
    return locked


@transaction.atomic
def policy_set(*, unknown_caller: str, by: Any = None) -> DicomPolicy:
    """Decide what happens to an AE title the registry does not know: reject, or read-only."""
    if unknown_caller not in UnknownCallerPolicy.values:
        choices = ", ".join(UnknownCallerPolicy.values)
        raise ValidationFailed(
            {"unknown_caller": [f"{unknown_caller!r} is not a policy; choose one of {choices}."]}
        )
    policy = DicomPolicy.objects.select_for_update().get(pk=policy_get().pk)
    policy.unknown_caller = unknown_caller
    policy.updated_by = _registry_user(by)
    full_clean_or_fail(policy)
    policy.save(update_fields=["unknown_caller", "updated_by", "updated_at"])
    registry_logger.info(
        "DICOM unknown-caller policy set to %s by user %s", unknown_caller, getattr(by, "pk", None)
    )
    return policy
