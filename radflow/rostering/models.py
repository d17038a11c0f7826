"""The roster: shift types, cover, each person's rules and wishes, the solved and published plan.

The solver sees none of this directly: ``instance.py`` turns it into a ``radflow.core.rostering``
``Instance`` (the same one the Curtois & Qu benchmark is read into) and back.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from radflow.catalog.models import Competency
from radflow.db import UUIDModel
from radflow.scheduling.models import Modality, Site
from radflow.staff.models import StaffMember


class ShiftKind(models.TextChoices):
    DAY = "day", "Day"
    EVENING = "evening", "Evening"
    NIGHT = "night", "Night"
    WEEKEND = "weekend", "Weekend day"
    ON_CALL = "on_call", "On call"


class ShiftType(UUIDModel):
    """A shift at one site, e.g. "US day 07:30-16:00 at Main"; ``code`` is unique across sites.

    An on-call shift is a shift of its own (from home, called back when needed): the person is not
    rostered for another shift that day, and ``paid_minutes`` counts the expected call-back time.
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="shift_types")
    code = models.SlugField(max_length=24, unique=True)
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=16, choices=ShiftKind.choices)
    modality = models.ForeignKey(
        Modality, on_delete=models.PROTECT, related_name="shift_types", null=True, blank=True
    )
    start = models.TimeField()
    #: At or before ``start`` means the shift ends the next day (nights, on-call).
    end = models.TimeField()
    paid_minutes = models.PositiveIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(24 * 60)]
    )
    #: On-call only: the person may be called back and must reach the site within this time.
    callback_minutes = models.PositiveIntegerField(null=True, blank=True)
    #: Worked only on Saturdays and Sundays (weekend rota) when set.
    weekend_only = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site__code", "start", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    def bounds(self, on: date) -> tuple[datetime, datetime]:
        """Aware start and end in the site's zone of this shift worked on ``on``.

        Built from wall-clock times, so a night across a daylight-saving change is an hour
        shorter or longer in real time, as the people working it experience it.
        """
        zone = ZoneInfo(self.site.time_zone)
        finish_day = on + timedelta(days=1) if self.overnight else on
        return (
            datetime.combine(on, self.start, tzinfo=zone),
            datetime.combine(finish_day, self.end, tzinfo=zone),
        )


class CoverageRequirement(UUIDModel):
    """People wanted on a shift: ``minimum`` must be met, ``preferred`` is aimed for.

    With a competency (or only a modality) set, only people holding it count; a requirement
    applies on ``weekday`` every week, or on one ``on_date`` (a holiday, a clinic day).
    """

    shift_type = models.ForeignKey(ShiftType, on_delete=models.CASCADE, related_name="coverage")
    weekday = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(6)], help_text="0 = Monday"
    )
    on_date = models.DateField(null=True, blank=True)
    modality = models.ForeignKey(Modality, on_delete=models.PROTECT, null=True, blank=True)
    competency = models.ForeignKey(Competency, on_delete=models.PROTECT, null=True, blank=True)
    minimum = models.PositiveSmallIntegerField(default=1)
    preferred = models.PositiveSmallIntegerField(default=1)
    history = HistoricalRecords()

    class Meta:
        ordering = ["shift_type__code", "weekday", "on_date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weekday__isnull=False) | models.Q(on_date__isnull=False),
                name="coverage_has_weekday_or_date",
            ),
            models.CheckConstraint(
                condition=models.Q(preferred__gte=models.F("minimum")),
                name="coverage_preferred_at_least_minimum",
            ),
        ]

    def __str__(self) -> str:
        when = self.on_date.isoformat() if self.on_date else f"weekday {self.weekday}"
        return f"{self.shift_type.code} {when}: {self.minimum}-{self.preferred}"


class RosterSettings(UUIDModel):
    """Department-wide rostering rules and the objective's weights (one row)."""

    min_rest_hours = models.PositiveSmallIntegerField(default=11)
    under_cover_weight = models.PositiveIntegerField(default=100)
    over_cover_weight = models.PositiveIntegerField(default=5)
    leave_request_weight = models.PositiveIntegerField(default=50)
    fairness_nights_weight = models.PositiveIntegerField(default=20)
    fairness_weekends_weight = models.PositiveIntegerField(default=20)
    fairness_holidays_weight = models.PositiveIntegerField(default=20)
    fairness_on_call_weight = models.PositiveIntegerField(default=20)
    #: Cost of each changed person-day when re-solving a published roster (sick call).
    change_weight = models.PositiveIntegerField(default=30)
    solve_seconds = models.PositiveIntegerField(default=60)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "roster settings"

    def __str__(self) -> str:
        return "Roster settings"


class StaffRosterRules(UUIDModel):
    """One person's working-time rules; minutes scale with the number of weeks rostered."""

    staff = models.OneToOneField(StaffMember, on_delete=models.CASCADE, related_name="roster_rules")
    rostered = models.BooleanField(default=True)
    contracted_minutes_per_week = models.PositiveIntegerField(default=2400)
    #: Allowed deviation from the contract, per week, either way.
    flex_minutes_per_week = models.PositiveIntegerField(default=240)
    max_consecutive_days = models.PositiveSmallIntegerField(default=5)
    min_consecutive_days = models.PositiveSmallIntegerField(default=1)
    min_consecutive_days_off = models.PositiveSmallIntegerField(default=2)
    max_weekends_per_4_weeks = models.PositiveSmallIntegerField(default=2)
    max_nights_per_4_weeks = models.PositiveSmallIntegerField(default=8)
    max_on_call_per_4_weeks = models.PositiveSmallIntegerField(default=4)
    #: Shift types this person may work; empty means those of their home site and modalities.
    shift_types = models.ManyToManyField(ShiftType, blank=True, related_name="+")
    history = HistoricalRecords(m2m_fields=[shift_types])

    class Meta:
        verbose_name_plural = "staff roster rules"

    def __str__(self) -> str:
        return f"Roster rules of {self.staff}"


class PublicHoliday(models.Model):
    on_date = models.DateField(unique=True)
    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["on_date"]

    def __str__(self) -> str:
        return f"{self.name} ({self.on_date})"


class LeaveKind(models.TextChoices):
    ANNUAL = "annual", "Annual leave"
    STUDY = "study", "Study / CE leave"
    SICK = "sick", "Sick"
    OTHER = "other", "Other"


class RequestStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class LeaveRequest(UUIDModel):
    """Approved leave is a hard day off; a request not yet decided is a wish the solver weighs."""

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="leave")
    kind = models.CharField(max_length=16, choices=LeaveKind.choices, default=LeaveKind.ANNUAL)
    start = models.DateField()
    end = models.DateField()
    status = models.CharField(
        max_length=16, choices=RequestStatus.choices, default=RequestStatus.REQUESTED
    )
    note = models.CharField(max_length=200, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["start", "staff"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="leave_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.staff}: {self.get_kind_display()} {self.start}-{self.end}"


class ShiftPreference(UUIDModel):
    """A standing or one-off wish: work (or avoid) a shift type, or a whole day, with a weight."""

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="preferences")
    shift_type = models.ForeignKey(ShiftType, on_delete=models.CASCADE, null=True, blank=True)
    weekday = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(6)]
    )
    on_date = models.DateField(null=True, blank=True)
    #: True: wants to work it; False: wants it off.
    wants = models.BooleanField(default=False)
    weight = models.PositiveSmallIntegerField(
        default=5, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["staff", "on_date", "weekday"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(weekday__isnull=False) | models.Q(on_date__isnull=False),
                name="preference_has_weekday_or_date",
            )
        ]

    def __str__(self) -> str:
        return f"{self.staff}: {'on' if self.wants else 'off'} {self.shift_type or 'any shift'}"


class RosterStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SOLVING = "solving", "Solving"
    SOLVED = "solved", "Solved (not published)"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"


class Roster(UUIDModel):
    """The plan for ``weeks`` weeks from a Monday; published rosters are what staff see."""

    start = models.DateField(help_text="A Monday")
    weeks = models.PositiveSmallIntegerField(
        default=6, validators=[MinValueValidator(1), MaxValueValidator(8)]
    )
    status = models.CharField(
        max_length=16, choices=RosterStatus.choices, default=RosterStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    objective = models.IntegerField(null=True, blank=True)
    best_bound = models.IntegerField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start"]
        permissions = [("publish_roster", "Can generate and publish rosters")]

    def __str__(self) -> str:
        return f"Roster from {self.start} ({self.weeks} weeks)"

    @property
    def end(self) -> date:
        """Last day of the roster (inclusive)."""
        return self.start + timedelta(days=7 * self.weeks - 1)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range(7 * self.weeks)]


class RunKind(models.TextChoices):
    GENERATE = "generate", "Generate"
    SICK_CALL = "sick_call", "Re-solve after a sick call"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    FINISHED = "finished", "Finished"
    INFEASIBLE = "infeasible", "Cannot be met"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class RosterRun(UUIDModel):
    """One solve of a roster, with its progress for the coordinator's page and its verdict."""

    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=16, choices=RunKind.choices, default=RunKind.GENERATE)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    seconds_limit = models.PositiveIntegerField(default=60)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: [[seconds, objective, bound], ...] as the solver improved.
    trace = models.JSONField(default=list, blank=True)
    solver_status = models.CharField(max_length=16, blank=True)
    objective = models.IntegerField(null=True, blank=True)
    best_bound = models.IntegerField(null=True, blank=True)
    #: What the solver reached: per date and shift, wanted/minimum/assigned by skill.
    coverage = models.JSONField(default=list, blank=True)
    #: Requests it could not grant, each with the reason shown to the coordinator.
    unmet_requests = models.JSONField(default=list, blank=True)
    #: When the roster cannot be met: the small set of rules and cover that conflict.
    conflicts = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.roster} ({self.status})"


class RosterAssignment(models.Model):
    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="assignments")
    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="shifts")
    on_date = models.DateField()
    shift_type = models.ForeignKey(ShiftType, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["on_date", "shift_type__start", "staff"]
        constraints = [
            models.UniqueConstraint(
                fields=["roster", "staff", "on_date"], name="one_shift_per_person_per_day"
            )
        ]
        indexes = [models.Index(fields=["staff", "on_date"])]

    def __str__(self) -> str:
        return f"{self.staff} {self.on_date} {self.shift_type.code}"


class SwapStatus(models.TextChoices):
    REQUESTED = "requested", "Waiting for the coordinator"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"
    REFUSED = "refused", "Refused by the rules"
    WITHDRAWN = "withdrawn", "Withdrawn"


class SwapRequest(UUIDModel):
    """``requester`` gives their shift on ``give_date`` to ``partner``, and takes the partner's
    shift on ``take_date`` (none: a give-away)."""

    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="swaps")
    requester = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="+")
    give_date = models.DateField()
    take_date = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=SwapStatus.choices, default=SwapStatus.REQUESTED
    )
    note = models.CharField(max_length=200, blank=True)
    #: Why the rules refused it, or why the coordinator declined it.
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Swap {self.requester} -> {self.partner} ({self.status})"


class SickCall(UUIDModel):
    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="sick_calls")
    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="sick_calls")
    start = models.DateField()
    end = models.DateField()
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    run = models.ForeignKey(
        RosterRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: Person-days the re-solve changed, shown to the coordinator: [[staff, date, old, new], ...].
    changes = models.JSONField(default=list, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gte=models.F("start")), name="sick_end_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.staff} sick {self.start}-{self.end}"


def _feed_token() -> str:
    return secrets.token_urlsafe(32)


class CalendarFeed(models.Model):
    """The secret behind a person's iCal URL; rotating it revokes calendars that were shared."""

    staff = models.OneToOneField(StaffMember, on_delete=models.CASCADE, related_name="calendar")
    token = models.CharField(max_length=64, unique=True, default=_feed_token)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Calendar feed of {self.staff}"
