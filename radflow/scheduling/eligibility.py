"""Which rooms, devices and people may take an exam type on a day, and why the others may not.

The answer is data the coordinator sees (the eligibility endpoint, the board's warnings), so
every exclusion carries a sentence. The staff check is the credentials app's
(``may_perform`` / ``eligible_staff``: a current, verified credential and a current competency
sign-off on the day); this module only adds who performs exams at all and the room side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from radflow.catalog.models import ExamType, PatientClass
from radflow.credentials.selectors import eligible_staff, may_perform
from radflow.scheduling.models import (
    Device,
    DeviceStatus,
    Room,
    RoomCapability,
    RoomStatus,
    Site,
)
from radflow.staff.models import JobRole, StaffMember

#: Job roles that perform exams; other staff are never offered as the performer.
PERFORMER_ROLES = (JobRole.SONOGRAPHER, JobRole.TECHNOLOGIST)

#: Patient classes that need a room capability of the same code (when the capability exists).
CLASS_CAPABILITIES = (PatientClass.PORTABLE, PatientClass.BARIATRIC)


@dataclass
class ExamEligibility:
    rooms: list[Room]
    devices: list[Device]
    staff: list[StaffMember]
    #: Why each excluded room, device or person is excluded, keyed by ``"room:<code>"``,
    #: ``"device:<serial>"`` and ``"staff:<employee number>"``; shown as is.
    reasons: dict[str, list[str]] = field(default_factory=dict)
    #: Room capabilities the exam needs (names), for the coordinator's summary.
    needs: list[str] = field(default_factory=list)

    def devices_in(self, room: Room) -> list[Device]:
        return [d for d in self.devices if d.room_id == room.pk]


def required_capabilities(exam_type: ExamType, patient_class: str) -> list[RoomCapability]:
    needed = list(exam_type.required_capabilities.all())
    if patient_class in CLASS_CAPABILITIES:
        extra = RoomCapability.objects.filter(pk=patient_class).first()
        if extra is not None and extra not in needed:
            needed.append(extra)
    return sorted(needed, key=lambda c: c.name)


def room_problems(room: Room, exam_type: ExamType, needed: list[RoomCapability]) -> list[str]:
    """Why ``room`` cannot take the exam type (empty: it can). Uses prefetched capabilities."""
    problems = []
    if room.modality_id != exam_type.modality_id:
        problems.append(
            f"{room.name} is a {room.modality_id} room; {exam_type.name} needs "
            f"{exam_type.modality_id}."
        )
    have = {c.code for c in room.capabilities.all()}
    missing = [c.name for c in needed if c.code not in have]
    if missing:
        problems.append(f"{room.name} lacks {', '.join(missing)}.")
    if room.status != RoomStatus.IN_SERVICE:
        note = f" ({room.status_note})" if room.status_note else ""
        problems.append(f"{room.name} is {room.get_status_display().lower()}{note}.")
    return problems


def device_problem(device: Device) -> str | None:
    if device.status != DeviceStatus.IN_SERVICE:
        return f"{device} is {device.get_status_display().lower()}."
    return None


def is_performer(member: StaffMember, modality: str, modalities: set[str] | None) -> str | None:
    """Why ``member`` is not a performer of ``modality`` (None: they are)."""
    if member.job_role not in PERFORMER_ROLES:
        return f"{member} is a {member.get_job_role_display().lower()}, not a performer."
    if modalities and modality not in modalities:
        return f"{member} works in {', '.join(sorted(modalities))}, not {modality}."
    return None


def exam_eligibility(
    *,
    exam_type: ExamType,
    patient_class: str,
    on: date,
    site: Site | None = None,
    with_reasons: bool = True,
) -> ExamEligibility:
    """Rooms of the exam's modality with every capability it (and the patient class) needs and in
    service, their devices in service, and performers who may perform it on ``on``.

    ``with_reasons=False`` skips the per-person explanation (slot search needs only the lists).
    """
    needed = required_capabilities(exam_type, patient_class)
    rooms_qs = (
        Room.objects.filter(modality_id=exam_type.modality_id)
        .select_related("site")
        .prefetch_related("capabilities", "devices")
        .order_by("site__code", "code")
    )
    if site is not None:
        rooms_qs = rooms_qs.filter(site=site)
    reasons: dict[str, list[str]] = {}
    rooms: list[Room] = []
    devices: list[Device] = []
    for room in rooms_qs:
        problems = room_problems(room, exam_type, needed)
        room_devices = sorted(room.devices.all(), key=lambda d: d.serial_number)
        usable = []
        for device in room_devices:
            problem = device_problem(device)
            if problem:
                reasons[f"device:{device.serial_number}"] = [problem]
            else:
                usable.append(device)
        if room_devices and not usable:
            problems.append(f"{room.name} has no device in service.")
        if problems:
            reasons[f"room:{room.code}"] = problems
            continue
        rooms.append(room)
        devices.extend(usable)

    qualified = {s.pk for s in eligible_staff(exam_type=exam_type, on=on)}
    candidates = list(
        StaffMember.objects.filter(active=True)
        .prefetch_related("modalities")
        .order_by("family_name", "given_name", "employee_number")
    )
    staff: list[StaffMember] = []
    for member in candidates:
        modalities = {m.code for m in member.modalities.all()}
        not_performer = is_performer(member, exam_type.modality_id, modalities)
        if not_performer is not None:
            if with_reasons and member.job_role in PERFORMER_ROLES:
                reasons[f"staff:{member.employee_number}"] = [not_performer]
            continue
        if member.pk in qualified:
            staff.append(member)
        elif with_reasons:
            verdict = may_perform(staff=member, exam_type=exam_type, on=on)
            reasons[f"staff:{member.employee_number}"] = list(verdict.reasons) or [
                f"{member} may not perform {exam_type.name} on {on}."
            ]
    return ExamEligibility(
        rooms=rooms,
        devices=devices,
        staff=staff,
        reasons=reasons,
        needs=[c.name for c in needed],
    )


def eligible_performers(*, exam_type: ExamType, on: date) -> list[StaffMember]:
    """Performers of the exam's modality who may perform it on ``on`` (no reasons; slot search)."""
    qualified = {s.pk for s in eligible_staff(exam_type=exam_type, on=on)}
    members = (
        StaffMember.objects.filter(pk__in=qualified)
        .prefetch_related("modalities")
        .order_by("family_name", "given_name", "employee_number")
    )
    return [
        m
        for m in members
        if is_performer(m, exam_type.modality_id, {x.code for x in m.modalities.all()}) is None
    ]


def staff_problem(*, staff: StaffMember, exam_type: ExamType, on: date) -> str | None:
    """Why ``staff`` may not perform ``exam_type`` on ``on``, naming what is missing."""
    modalities = set(staff.modalities.values_list("code", flat=True))
    not_performer = is_performer(staff, exam_type.modality_id, modalities)
    if not_performer is not None:
        return not_performer
    if not staff.active:
        return f"{staff} is not active."
    verdict = may_perform(staff=staff, exam_type=exam_type, on=on)
    if verdict.ok:
        return None
    return f"{staff} may not perform {exam_type.name} on {on}: {'; '.join(verdict.reasons)}."


def summary(eligibility: ExamEligibility) -> dict[str, Any]:
    """A plain dict for the API and pages."""
    return {
        "needs": eligibility.needs,
        "rooms": [r.code for r in eligibility.rooms],
        "devices": [d.serial_number for d in eligibility.devices],
        "staff": [s.employee_number for s in eligibility.staff],
        "reasons": eligibility.reasons,
    }
