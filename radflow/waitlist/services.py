"""Writes to the waitlist: add, remove, and book a freed slot for an entry.

Booking goes through the scheduling services (``radflow.scheduling.booking``), so a waitlist
booking obeys every rule a booking made anywhere else obeys (opening hours, eligibility, no
double booking); a refusal raises before anything is written and the entry stays on the list.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from radflow.core.errors import Conflict, ValidationFailed
from radflow.core.exam_states import ExamState
from radflow.exams.models import Exam
from radflow.orders.models import Order
from radflow.scheduling import booking
from radflow.scheduling.models import Room, Site
from radflow.staff.models import StaffMember
from radflow.waitlist.models import OPEN_STATUSES, WaitlistEntry, WaitlistStatus

#: States of an exam that may still take an earlier slot: not yet booked, or booked later.
WAITABLE_STATES = frozenset(
    {ExamState.TRIAGED, ExamState.PENDING_AUTH, ExamState.AUTHORIZED, ExamState.SCHEDULED}
)
#: The coded reason a waitlist move carries on the exam's timeline.
WAITLIST_REASON_CODE = "patient_request"


def _exam_of(order: Order) -> Exam:
    exam = Exam.objects.filter(order=order).first()
    if exam is None:
        raise Conflict("This order has no exam yet.", field="order", code="no_exam")
    return exam


@transaction.atomic
def waitlist_add(
    *,
    order: Order,
    by: Any,
    wanted_before: date | None = None,
    preferred_site: Site | None = None,
    preferred_times: str = "",
    notes: str = "",
) -> WaitlistEntry:
    """Put an order on the waitlist; its priority is copied so the ranking need not join."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    exam = _exam_of(order)
    if exam.state not in WAITABLE_STATES:
        state = ExamState(exam.state).label.lower()
        raise Conflict(
            f"Exam {exam.accession_number} is {state}; only an exam still to be done can wait "
            "for an earlier slot.",
            field="order",
            code="not_waitable",
        )
    if wanted_before is not None and wanted_before < timezone.localdate():
        raise ValidationFailed({"wanted_before": ["That day has already passed."]})
    if WaitlistEntry.objects.filter(order=order, status__in=OPEN_STATUSES).exists():
        raise Conflict(
            f"Exam {exam.accession_number} is already on the waitlist.",
            field="order",
            code="already_waitlisted",
        )
    entry = WaitlistEntry(
        order=order,
        added_at=timezone.now(),
        added_by=by if getattr(by, "is_authenticated", False) else None,
        wanted_before=wanted_before,
        preferred_site=preferred_site,
        preferred_times=preferred_times.strip(),
        priority=order.priority,
        notes=notes.strip(),
    )
    entry.full_clean(exclude=["order", "added_by", "preferred_site", "closed_by"])
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError as exc:  # a concurrent add won the race for the open entry
        raise Conflict(
            f"Exam {exam.accession_number} is already on the waitlist.",
            field="order",
            code="already_waitlisted",
        ) from exc
    return entry


def _lock_open(entry: WaitlistEntry) -> WaitlistEntry:
    locked = (
        WaitlistEntry.objects.select_for_update()
        .select_related("order", "order__exam_type")
        .get(pk=entry.pk)
    )
    if locked.status not in OPEN_STATUSES:
        raise Conflict(
            f"This entry is already {locked.get_status_display().lower()}.",
            field="status",
            code="waitlist_closed",
        )
    return locked


def _close(entry: WaitlistEntry, status: WaitlistStatus, by: Any, note: str = "") -> None:
    entry.status = status
    entry.closed_at = timezone.now()
    entry.closed_by = by if getattr(by, "is_authenticated", False) else None
    fields = ["status", "closed_at", "closed_by", "updated_at"]
    if note:
        entry.notes = f"{entry.notes}\n{note}".strip()
        fields.append("notes")
    entry.save(update_fields=fields)


@transaction.atomic
def waitlist_remove(*, entry: WaitlistEntry, by: Any, reason: str = "") -> WaitlistEntry:
    """Take an entry off the list (the patient no longer wants an earlier slot)."""
    entry = _lock_open(entry)
    _close(entry, WaitlistStatus.REMOVED, by, f"Removed: {reason.strip()}" if reason else "")
    return entry


@transaction.atomic
def waitlist_book(
    *,
    entry: WaitlistEntry,
    by: Any,
    room: Room,
    start: datetime,
    staff: StaffMember | None = None,
) -> Exam:
    """Book the entry's exam into ``room`` at ``start`` and mark the entry booked.

    An exam not booked yet is booked (``appointment_book``); one already booked later is moved
    earlier (``appointment_move``, reason "patient asked for another time"). Either way the
    booking services check the slot; if they refuse, the entry stays open and nothing changes.
    """
    entry = _lock_open(entry)
    exam = _exam_of(entry.order)
    if exam.state == ExamState.SCHEDULED:
        if exam.scheduled_start is not None and exam.scheduled_start <= start:
            raise Conflict(
                f"Exam {exam.accession_number} is already booked at or before that time.",
                field="start",
                code="not_earlier",
            )
        booked: Exam = booking.appointment_move(
            exam=exam,
            by=by,
            room=room,
            start=start,
            staff=staff,
            reason_code=WAITLIST_REASON_CODE,
            reason="Earlier slot offered from the waitlist.",
        )
    else:
        booked = booking.appointment_book(exam=exam, by=by, room=room, start=start, staff=staff)
    _close(entry, WaitlistStatus.BOOKED, by)
    return booked
