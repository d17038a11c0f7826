"""Exams as the quality program finds them (completed, signed by a reader), checklists, people.

Exams are created through ``order_create`` and then stamped with the state and timestamps the
state machine would have written: the quality program reads only those columns, and walking
dozens of exams through every transition would make the sampling tests slow for nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from radflow.catalog.models import ExamType
from radflow.core.exam_states import ExamState
from radflow.core.roles import Role
from radflow.exams.models import Exam
from radflow.quality.models import AuditChecklist, AuditChecklistItem, ChecklistCategory
from radflow.staff.models import JobRole, StaffMember
from tests.catalog.factories import ExamTypeFactory
from tests.conftest import make_user
from tests.orders.factories import make_order
from tests.scheduling.factories import ModalityFactory, RoomFactory
from tests.staff.factories import StaffMemberFactory


def local(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def ultrasound_type(code: str = "us-abdomen-complete", name: str = "US abdomen complete") -> Any:
    existing = ExamType.objects.filter(code=code).first()
    if existing is not None:
        return existing
    return ExamTypeFactory.create(code=code, name=name, modality=ModalityFactory.create(code="US"))


def person(
    job_role: JobRole = JobRole.SONOGRAPHER,
    *,
    role: Role | None = None,
    username: str | None = None,
    **fields: Any,
) -> StaffMember:
    """A staff member, with a login holding ``role`` when one is given."""
    user: User | None = make_user(role, username) if role is not None else None
    return StaffMemberFactory.create(job_role=job_role, user=user, **fields)


def exam_done(
    *,
    performer: StaffMember | None,
    completed_at: dt.datetime,
    exam_type: Any = None,
    state: ExamState = ExamState.COMPLETED,
    reader: StaffMember | None = None,
    signed_at: dt.datetime | None = None,
    report_text: str = "FINDINGS: Normal liver, gallbladder and kidneys.\nIMPRESSION: Normal.",
    protocol: str = "",
    room: Any = None,
    **order_fields: Any,
) -> Exam:
    """An exam stamped as performed (and reported and signed when ``reader`` is given)."""
    order = make_order(exam_type=exam_type or ultrasound_type(), **order_fields)
    if protocol:
        type(order).objects.filter(pk=order.pk).update(protocol=protocol)
    began = completed_at - dt.timedelta(minutes=30)
    values: dict[str, Any] = {
        "state": state.value,
        "technologist": performer,
        "room": room,
        "scheduled_start": began,
        "arrived_at": began - dt.timedelta(minutes=10),
        "in_progress_at": began,
        "completed_at": completed_at if state is not ExamState.IN_PROGRESS else None,
        "state_changed_at": completed_at,
    }
    if reader is not None:
        signed = signed_at or completed_at + dt.timedelta(hours=2)
        values.update(
            radiologist=reader,
            report_text=report_text,
            reported_at=signed - dt.timedelta(minutes=20),
            signed_at=signed,
            state=ExamState.SIGNED.value,
            state_changed_at=signed,
        )
    Exam.objects.filter(pk=order.exam.pk).update(**values)
    return Exam.objects.select_related("order__patient", "order__exam_type").get(pk=order.exam.pk)


def checklist(
    exam_type: Any = None,
    *,
    name: str = "Abdomen complete",
    modality_wide: bool = False,
    protocol: str = "",
    points_item: bool = True,
) -> AuditChecklist:
    """A scoring form with three pass/partial/fail items (2 points each) and, by default, one
    points item worth 4."""
    exam_type = exam_type or ultrasound_type()
    made = AuditChecklist.objects.create(
        name=name,
        exam_type=None if modality_wide else exam_type,
        modality=exam_type.modality,
        protocol=protocol,
    )
    items = [
        (ChecklistCategory.VIEWS, "Liver long and transverse", "ppf", 2),
        (ChecklistCategory.LABELLING, "Side and plane marker on every image", "ppf", 2),
        (ChecklistCategory.MEASUREMENTS, "CBD diameter measured", "ppf", 2),
    ]
    if points_item:
        items.append((ChecklistCategory.ARTEFACTS, "Depth, gain and focus optimised", "points", 4))
    for position, (category, label, scoring, points) in enumerate(items, start=1):
        AuditChecklistItem.objects.create(
            checklist=made,
            position=position,
            category=category,
            label=label,
            scoring=scoring,
            max_points=points,
        )
    return made


def us_room() -> Any:
    return RoomFactory.create(modality=ModalityFactory.create(code="US"))
