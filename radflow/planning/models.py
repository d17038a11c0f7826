"""Day plans: one optimization or re-plan of a site's day, its outcome, and the coordinator's
decision; and the department's weights for the day optimizer.

The run keeps identifiers only (exam, room, staff ids and times): the page joins the names when
it is shown, and that read is audited.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from radflow.db import UUIDModel
from radflow.scheduling.models import Site


class DepartmentSchedulingSettings(UUIDModel):
    """The day optimizer's weights (cost per minute, per patient for changes) and time limits.

    One row for the department: STAT lateness costs far more than a routine patient's wait,
    and moving a patient who was told a time costs as much as half an hour of waiting.
    """

    stat_lateness_weight = models.PositiveIntegerField(
        "STAT lateness (per minute)", default=50, validators=[MaxValueValidator(10_000)]
    )
    urgent_lateness_weight = models.PositiveIntegerField(
        "urgent lateness (per minute)", default=10, validators=[MaxValueValidator(10_000)]
    )
    wait_weight = models.PositiveIntegerField(
        "patient wait beyond the booked time (per minute)",
        default=2,
        validators=[MaxValueValidator(10_000)],
    )
    overtime_weight = models.PositiveIntegerField(
        "overtime (per minute)", default=5, validators=[MaxValueValidator(10_000)]
    )
    idle_weight = models.PositiveIntegerField(
        "idle room time (per minute)", default=1, validators=[MaxValueValidator(10_000)]
    )
    change_weight = models.PositiveIntegerField(
        "changing a notified patient's time (per patient)",
        default=30,
        validators=[MaxValueValidator(100_000)],
    )
    optimize_seconds = models.PositiveIntegerField(
        "time to optimize a day (s)",
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(300)],
    )
    replan_seconds = models.PositiveIntegerField(
        "time to re-plan (s)", default=2, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = "department scheduling settings"
        verbose_name_plural = "department scheduling settings"

    def __str__(self) -> str:
        return "Scheduling settings"


class PlanKind(models.TextChoices):
    OPTIMIZE = "optimize", "Optimize the day"
    REPLAN = "replan", "Re-plan the rest of the day"


class PlanStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Solving"
    DONE = "done", "Ready to review"
    FAILED = "failed", "Failed"
    APPLIED = "applied", "Applied"
    DISCARDED = "discarded", "Discarded"


#: Statuses after which the solver no longer writes to the run.
SOLVED_STATUSES = (PlanStatus.DONE, PlanStatus.FAILED, PlanStatus.APPLIED, PlanStatus.DISCARDED)


class DayPlanRun(UUIDModel):
    """One solve of a site's day and what the coordinator decided about it."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="plan_runs")
    date = models.DateField()
    kind = models.CharField(max_length=12, choices=PlanKind.choices, default=PlanKind.REPLAN)
    #: Why it was started, in the coordinator's words or the board's: "Room US-3 down".
    trigger = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=PlanStatus.choices, default=PlanStatus.QUEUED)
    seconds_limit = models.PositiveIntegerField(default=2)
    #: [[seconds, objective, bound], ...] as the solver improved.
    trace = models.JSONField(default=list, blank=True)
    #: assignments, unscheduled (with why), changes, metrics before/after/greedy, objective,
    #: bound, gap, seconds, and the state of the day it was computed from (``snapshot``).
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["site", "date", "created_at"], name="plan_run_day_idx")]
        permissions = [("plan_day", "Start, apply and discard day plans and re-plans")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.site.code} {self.date} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in SOLVED_STATUSES
