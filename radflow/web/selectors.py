"""Counts for the Today page's cards.

``TodayCounts`` is lazy: each figure is queried only if a card the user sees asks for it, so a
scheduler's home page does not pay for the biomed engineer's device counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from radflow.audit.models import AccessLog
from radflow.core.exam_states import CLOCK_RUNNING, ExamState
from radflow.exams.models import Exam
from radflow.interfaces.selectors_hl7 import Hl7Counts, hl7_counts
from radflow.localtime import local_day, local_midnight
from radflow.orders.models import Priority
from radflow.scheduling.models import Device, DeviceStatus, Probe, Room, RoomStatus
from radflow.staff.models import StaffMember


@dataclass(frozen=True)
class StatusCounts:
    in_service: int = 0
    down: int = 0
    maintenance: int = 0

    @property
    def out_of_service(self) -> int:
        return self.down + self.maintenance

    @property
    def total(self) -> int:
        return self.in_service + self.down + self.maintenance


def _status_counts(queryset: QuerySet[Any]) -> StatusCounts:
    by_status = {
        row["status"]: row["n"] for row in queryset.values("status").annotate(n=Count("pk"))
    }
    return StatusCounts(
        in_service=by_status.get(RoomStatus.IN_SERVICE, 0),
        down=by_status.get(RoomStatus.DOWN, 0),
        maintenance=by_status.get(RoomStatus.MAINTENANCE, 0),
    )


def room_status_counts() -> StatusCounts:
    return _status_counts(Room.objects.all())


def device_status_counts() -> StatusCounts:
    """Retired devices are gone for good, so they count in no column."""
    return _status_counts(Device.objects.exclude(status=DeviceStatus.RETIRED))


def probe_status_counts() -> StatusCounts:
    return _status_counts(Probe.objects.exclude(status=DeviceStatus.RETIRED))


def active_staff_count() -> int:
    return StaffMember.objects.filter(active=True).count()


def access_rows_today() -> int:
    """Rows of the PHI access log written since midnight in the department's zone."""
    return AccessLog.objects.filter(at__gte=local_midnight(timezone.localdate())).count()


class TodayCounts:
    """Every figure a Today card can show, each computed on first use."""

    @cached_property
    def rooms(self) -> StatusCounts:
        return room_status_counts()

    @cached_property
    def devices(self) -> StatusCounts:
        return device_status_counts()

    @cached_property
    def probes(self) -> StatusCounts:
        return probe_status_counts()

    @cached_property
    def active_staff(self) -> int:
        return active_staff_count()

    @cached_property
    def access_rows_today(self) -> int:
        return access_rows_today()

    @cached_property
    def exams(self) -> ExamCounts:
        return exam_counts()

    @cached_property
    def hl7(self) -> Hl7Counts:
        return hl7_counts()


@dataclass(frozen=True)
class ExamCounts:
    """How many exams wait at each step: one grouped query for the whole Today page."""

    to_triage: int = 0
    incomplete: int = 0
    pending_auth: int = 0
    open_stat: int = 0
    arrivals_today: int = 0
    arrived: int = 0
    in_progress: int = 0
    to_report: int = 0
    to_sign: int = 0
    to_bill: int = 0


def exam_counts() -> ExamCounts:
    start, end = local_day(timezone.localdate())
    row = Exam.objects.aggregate(
        to_triage=Count("pk", filter=Q(state=ExamState.REQUESTED, order__is_complete=True)),
        incomplete=Count("pk", filter=Q(state=ExamState.REQUESTED, order__is_complete=False)),
        pending_auth=Count("pk", filter=Q(state=ExamState.PENDING_AUTH)),
        open_stat=Count("pk", filter=Q(state__in=CLOCK_RUNNING, order__priority=Priority.STAT)),
        arrivals_today=Count(
            "pk",
            filter=Q(
                state=ExamState.SCHEDULED, scheduled_start__gte=start, scheduled_start__lt=end
            ),
        ),
        arrived=Count("pk", filter=Q(state=ExamState.ARRIVED)),
        in_progress=Count("pk", filter=Q(state=ExamState.IN_PROGRESS)),
        to_report=Count("pk", filter=Q(state=ExamState.COMPLETED)),
        to_sign=Count("pk", filter=Q(state=ExamState.REPORTED)),
        to_bill=Count("pk", filter=Q(state=ExamState.SIGNED)),
    )
    return ExamCounts(**row)
