"""Writes of the KPI app: marking rollups stale on exam changes, targets per department."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction

from radflow.core.errors import PermissionDenied, ValidationFailed
from radflow.core.kpis.rag import check_thresholds
from radflow.core.kpis.rollup import LocalCalendar
from radflow.kpis.models import KpiDefinition, KpiTarget
from radflow.kpis.rollups import STAMPS, calendar, mark_dirty
from radflow.scheduling.models import Department


def exam_days(exam: Any, cal: LocalCalendar) -> set[date]:
    """Every day an exam's events count on, from its timestamps as they stand."""
    days = {cal.day_of(value) for name in STAMPS if (value := getattr(exam, name)) is not None}
    ended = exam.completed_at or exam.discontinued_at
    if exam.in_progress_at is not None and ended is not None:
        days.update(day for day, _ in cal.split(exam.in_progress_at, ended))
    return days


def kpi_exam_changed(*, exam: Any, at: datetime) -> None:
    """An exam moved (``exams.services._apply``) or opened: its days' rollups are stale.

    Called inside the exam's transaction, so the mark commits with the change; the worker's
    ``kpi_rollups_refresh`` rebuilds those days. Every day the exam counts on is marked, not just
    today's: a triage may change the exam type and a booking the room, which moves the exam's
    earlier events to another row.
    """
    cal = calendar()
    mark_dirty(exam_days(exam, cal) | {cal.day_of(at)})


@transaction.atomic
def kpi_target_save(
    *,
    definition: KpiDefinition,
    department: Department,
    target: float | None,
    amber: float | None,
    red: float | None,
    by: Any,
) -> KpiTarget:
    """Set a department's own target and thresholds for a KPI (they must be in order)."""
    if by is None or not by.has_perm("kpis.edit_kpi_targets"):
        raise PermissionDenied("Your role does not allow KPI targets to be changed.")
    amber = target if amber is None else amber
    problems = check_thresholds(definition.direction_enum, target, amber, red)
    if problems:
        raise ValidationFailed({"amber": problems})
    row, _ = KpiTarget.objects.select_for_update().get_or_create(
        definition=definition, department=department, defaults={"updated_by": by}
    )
    row.target, row.amber, row.red, row.updated_by = target, amber, red, by
    row.full_clean()
    row.save()
    return row


@transaction.atomic
def kpi_target_reset(*, definition: KpiDefinition, department: Department, by: Any) -> None:
    """Back to the definition's default target for this department."""
    if by is None or not by.has_perm("kpis.edit_kpi_targets"):
        raise PermissionDenied("Your role does not allow KPI targets to be changed.")
    KpiTarget.objects.filter(definition=definition, department=department).delete()
