"""Reads behind the work lists: one function per list, each a queryset with what its rows show
joined in (``select_related``), so a list of fifty rows is a handful of queries, not fifty.

"Today" is the department's day (``settings.TIME_ZONE``), not UTC's: a 7 pm booking in New York is
still today's exam at midnight UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import (
    Count,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone

from radflow.core.exam_states import CLOCK_RUNNING, ExamState
from radflow.core.sla import ClockState, format_remaining
from radflow.exams.models import Exam, Override
from radflow.localtime import local_day
from radflow.orders.models import (
    Authorization,
    AuthorizationContact,
    Priority,
)
from radflow.orders.selectors import expiring_authorizations, order_clock, urgency_rank
from radflow.scheduling.models import Room, RoomStatus
from radflow.staff.models import StaffMember

#: Minutes after the booked start before a patient counts as late, then as a no-show candidate.
LATE_AFTER = timedelta(minutes=15)
NO_SHOW_AFTER = timedelta(minutes=30)

#: States in which the SLA clock still runs: ordered but not begun (arrived patients included).

#: States in which an exam is on today's floor.
ON_THE_DAY = [ExamState.SCHEDULED.value, ExamState.ARRIVED.value, ExamState.IN_PROGRESS.value]


@dataclass(frozen=True)
class Filters:
    """What a list may be narrowed to; ``None`` means everything."""

    site_id: Any = None
    modality: str | None = None
    priority: str | None = None


def _exams() -> QuerySet[Exam]:
    return Exam.objects.select_related(
        "order",
        "order__patient",
        "order__exam_type",
        "order__site",
        "order__payer",
        "order__owner",
        "room",
        "room__site",
        "technologist",
        "radiologist",
    )


def _filtered(exams: QuerySet[Exam], filters: Filters) -> QuerySet[Exam]:
    if filters.site_id:
        # A booked exam belongs to its room's site; an unbooked one to the site on the order.
        exams = exams.filter(
            Q(room__site_id=filters.site_id) | Q(room__isnull=True, order__site_id=filters.site_id)
        )
    if filters.modality:
        exams = exams.filter(order__exam_type__modality_id=filters.modality)
    if filters.priority:
        exams = exams.filter(order__priority=filters.priority)
    return exams


def _today(now: datetime) -> tuple[datetime, datetime]:
    return local_day(timezone.localdate(now))


# --- coordinator -------------------------------------------------------------------------------


def to_triage(filters: Filters) -> QuerySet[Exam]:
    """Complete referrals waiting for triage: STAT first, then the oldest."""
    return (
        _filtered(_exams(), filters)
        .filter(state=ExamState.REQUESTED, order__is_complete=True)
        .annotate(urgency=urgency_rank("order__priority"))
        .order_by("urgency", "order__received_at")
    )


def incomplete_referrals(filters: Filters) -> QuerySet[Exam]:
    return (
        _filtered(_exams(), filters)
        .filter(state=ExamState.REQUESTED, order__is_complete=False)
        .annotate(urgency=urgency_rank("order__priority"))
        .order_by("urgency", "order__received_at")
    )


def pending_authorization(filters: Filters) -> QuerySet[Exam]:
    """Exams waiting for the payer, with the latest request's status and the last contact."""
    latest = Authorization.objects.filter(order=OuterRef("order")).order_by("-requested_at")
    contacts = AuthorizationContact.objects.filter(authorization__order=OuterRef("order"))
    return (
        _filtered(_exams(), filters)
        .filter(state=ExamState.PENDING_AUTH)
        .annotate(
            auth_status=Subquery(latest.values("status")[:1]),
            last_contact_at=Subquery(contacts.order_by("-at").values("at")[:1]),
        )
        .order_by("order__received_at")
    )


def open_clock_exams(filters: Filters) -> QuerySet[Exam]:
    return _filtered(_exams(), filters).filter(state__in=CLOCK_RUNNING)


def sla_exceptions(filters: Filters, *, now: datetime) -> QuerySet[Exam]:
    """Open orders whose clock has passed its warning point (breached ones included)."""
    return (
        open_clock_exams(filters).filter(order__sla_warn_at__lte=now).order_by("order__sla_due_at")
    )


def expiring_authorization_list(filters: Filters) -> QuerySet[Authorization]:
    exams = _filtered(Exam.objects.all(), filters)
    return (
        expiring_authorizations()
        .filter(order__exam__in=exams)
        .select_related("order__exam__room")
        .order_by("order__exam__scheduled_start")
    )


def overrides_on(day: date, filters: Filters) -> QuerySet[Override]:
    start, end = local_day(day)
    exams = _filtered(Exam.objects.all(), filters)
    return (
        Override.objects.filter(at__gte=start, at__lt=end, exam__in=exams)
        .select_related(
            "exam", "exam__order", "exam__order__patient", "exam__order__exam_type", "by"
        )
        .order_by("-at")
    )


def rooms_down_with_bookings(day: date, filters: Filters) -> QuerySet[Room]:
    """Rooms out of service that still have exams booked that day (each needs a move)."""
    start, end = local_day(day)
    booked = Q(
        exams__state__in=[ExamState.SCHEDULED, ExamState.ARRIVED],
        exams__scheduled_start__gte=start,
        exams__scheduled_start__lt=end,
    )
    rooms = Room.objects.exclude(status=RoomStatus.IN_SERVICE).select_related("site", "modality")
    if filters.site_id:
        rooms = rooms.filter(site_id=filters.site_id)
    if filters.modality:
        rooms = rooms.filter(modality_id=filters.modality)
    return (
        rooms.annotate(booked=Count("exams", filter=booked)).filter(booked__gt=0).order_by("code")
    )


# --- front desk --------------------------------------------------------------------------------


def expected_today(filters: Filters, *, now: datetime) -> QuerySet[Exam]:
    """Everyone booked today who has not arrived yet, by time (the late ones included)."""
    start, end = _today(now)
    return (
        _filtered(_exams(), filters)
        .filter(state=ExamState.SCHEDULED, scheduled_start__gte=start, scheduled_start__lt=end)
        .order_by("scheduled_start")
    )


def late_arrivals(filters: Filters, *, now: datetime) -> QuerySet[Exam]:
    """Still not here 15 to 30 minutes after the booked start."""
    start, _ = _today(now)
    return (
        _filtered(_exams(), filters)
        .filter(
            state=ExamState.SCHEDULED,
            scheduled_start__gte=start,
            scheduled_start__lte=now - LATE_AFTER,
            scheduled_start__gt=now - NO_SHOW_AFTER,
        )
        .order_by("scheduled_start")
    )


def no_show_candidates(filters: Filters, *, now: datetime) -> QuerySet[Exam]:
    """Still booked and more than 30 minutes past the start, yesterday's forgotten ones too."""
    return (
        _filtered(_exams(), filters)
        .filter(state=ExamState.SCHEDULED, scheduled_start__lte=now - NO_SHOW_AFTER)
        .order_by("scheduled_start")
    )


def waiting(filters: Filters) -> QuerySet[Exam]:
    """Arrived and not yet begun, longest wait first."""
    return _filtered(_exams(), filters).filter(state=ExamState.ARRIVED).order_by("arrived_at")


# --- sonographer / technologist ----------------------------------------------------------------


def staff_member_for(user: Any) -> StaffMember | None:
    if user is None or not user.is_authenticated:
        return None
    return StaffMember.objects.filter(user=user, active=True).first()


def my_exams_today(staff: StaffMember, *, now: datetime) -> QuerySet[Exam]:
    start, end = _today(now)
    return (
        _exams()
        .filter(
            technologist=staff,
            state__in=ON_THE_DAY,
            scheduled_start__gte=start,
            scheduled_start__lt=end,
        )
        .order_by("scheduled_start")
    )


def unassigned_today(staff: StaffMember, *, now: datetime) -> QuerySet[Exam]:
    """Today's exams nobody performs yet, in rooms of the modalities this person works."""
    start, end = _today(now)
    return (
        _exams()
        .filter(
            technologist__isnull=True,
            room__modality__in=staff.modalities.all(),
            state__in=ON_THE_DAY,
            scheduled_start__gte=start,
            scheduled_start__lt=end,
        )
        .order_by("scheduled_start")
    )


# --- radiologist -------------------------------------------------------------------------------


def to_protocol(filters: Filters) -> QuerySet[Exam]:
    return to_triage(filters)


def to_report(filters: Filters) -> QuerySet[Exam]:
    return _filtered(_exams(), filters).filter(state=ExamState.COMPLETED).order_by("completed_at")


def to_sign(filters: Filters, *, staff: StaffMember | None, mine: bool) -> QuerySet[Exam]:
    """Reported, unsigned: the reader's own (``mine``) or everyone else's."""
    exams = _filtered(_exams(), filters).filter(state=ExamState.REPORTED).order_by("reported_at")
    if mine:
        return exams.filter(radiologist=staff) if staff is not None else exams.none()
    return exams.exclude(radiologist=staff) if staff is not None else exams


# --- billing -----------------------------------------------------------------------------------


def signed_not_billed(filters: Filters) -> QuerySet[Exam]:
    return (
        _filtered(_exams(), filters)
        .filter(state=ExamState.SIGNED)
        .prefetch_related("order__exam_type__procedure_codes")
        .order_by("signed_at")
    )


# --- STAT board --------------------------------------------------------------------------------


def open_stats(filters: Filters) -> QuerySet[Exam]:
    """Every STAT not yet begun (nor cancelled or no-show), the nearest breach first."""
    return (
        open_clock_exams(filters)
        .filter(order__priority=Priority.STAT)
        .order_by("order__sla_due_at", "order__received_at")
    )


def urgent_near_breach(filters: Filters, *, now: datetime) -> QuerySet[Exam]:
    return (
        open_clock_exams(filters)
        .filter(order__priority=Priority.URGENT, order__sla_warn_at__lte=now)
        .order_by("order__sla_due_at")
    )


@dataclass(frozen=True)
class Countdown:
    """Where an exam's SLA clock stands, as the board shows it."""

    due_at: datetime | None
    state: ClockState | None
    text: str


def countdown(exam: Exam, *, now: datetime) -> Countdown:
    clock = order_clock(exam.order)
    if clock is None:
        return Countdown(None, None, "no clock")
    return Countdown(clock.due_at, clock.state(now), format_remaining(clock.remaining(now)))
